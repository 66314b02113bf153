// Streaming data sets: chunked reading + featurization with bounded memory, seeded
// chunk-order and in-chunk shuffling, chunk sharding, resumable position.
#include <graft/core/files.h>
#include <graft/core/streaming.h>
#include <graft/error.h>
#include <graft/log.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace graft::core {

Value StreamState::to_value() const {
  Value v = Value::object();
  v.set("epoch", epoch);
  v.set("chunk_pos", chunk_pos);
  v.set("in_chunk", in_chunk);
  v.set("emitted", emitted);
  return v;
}

StreamState StreamState::from_value(const Value& v) {
  GRAFT_CHECK(v.is_object(), FormatError, v.location().str(), ": stream state: expected a table, got ", v.type_name());
  StreamState s;
  auto get = [&](const char* k) {
    const Value* x = v.find(k);
    GRAFT_CHECK(x && x->is_int() && x->as_int() >= 0, FormatError, v.location().str(), ": stream state: '", k,
                "' must be an integer >= 0");
    return x->as_int();
  };
  s.epoch = get("epoch");
  s.chunk_pos = get("chunk_pos");
  s.in_chunk = get("in_chunk");
  s.emitted = get("emitted");
  return s;
}

StreamingDataset::StreamingDataset(std::string path, std::shared_ptr<Processor> processor,
                                   std::shared_ptr<const Tokenizer> tokenizer, StreamOptions options)
    : path_(std::move(path)), processor_(std::move(processor)), tokenizer_(std::move(tokenizer)), opt_(options) {
  GRAFT_CHECK(opt_.chunk_records >= 1, ConfigError, "streaming: chunk_records must be >= 1, got ", opt_.chunk_records);
  GRAFT_CHECK(opt_.num_shards >= 1 && opt_.shard_index >= 0 && opt_.shard_index < opt_.num_shards, ConfigError,
              "streaming: shard_index must be in [0, num_shards), got ", opt_.shard_index, " of ", opt_.num_shards);
  std::ifstream in(path_, std::ios::binary);
  GRAFT_CHECK(in.good(), DataError, path_, fs::exists(path_) ? ": cannot be read" : ": no such file");
  uint64_t offset = 0;
  int64_t line_no = 0, records = 0;
  bool prev_blank = true;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    uint64_t start = offset;
    offset += line.size() + (in.eof() ? 0 : 1);
    if (opt_.header && line_no == 1) {
      header_ = line + "\n";
      continue;
    }
    bool blank = line.empty() || line == "\r";
    bool starts_record = opt_.blank_line_records ? (!blank && prev_blank) : !blank;
    prev_blank = blank;
    if (!starts_record) continue;
    if (records % opt_.chunk_records == 0) offsets_.push_back(ChunkStart{start, line_no});
    ++records;
  }
  end_ = offset;
  featurizer_ = std::make_unique<DataSilo>(tokenizer_, SiloOptions{"", 0, opt_.threads, false});
  start_epoch(0);
  log::debug("streaming ", path_, ": ", records, " records in ", offsets_.size(), " chunks of ", opt_.chunk_records);
}

std::vector<int64_t> StreamingDataset::order(int64_t epoch) const {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < static_cast<int64_t>(offsets_.size()); ++i)
    if (i % opt_.num_shards == opt_.shard_index) out.push_back(i);
  if (opt_.shuffle) seeded_shuffle(out, opt_.seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(epoch + 1)));
  return out;
}

void StreamingDataset::start_epoch(int64_t epoch) {
  state_ = StreamState{epoch, 0, 0, 0};
  order_ = order(epoch);
  loaded_ = -1;
  buffer_.clear();
}

void StreamingDataset::restore(const StreamState& s) {
  start_epoch(s.epoch);
  state_ = s;
}

void StreamingDataset::load_chunk(int64_t chunk) {
  buffer_.clear();
  const ChunkStart& c = offsets_[static_cast<size_t>(chunk)];
  uint64_t stop = chunk + 1 < static_cast<int64_t>(offsets_.size()) ? offsets_[static_cast<size_t>(chunk) + 1].offset : end_;
  std::string bytes(stop - c.offset, '\0');
  {
    std::ifstream in(path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(c.offset));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    GRAFT_CHECK(static_cast<uint64_t>(in.gcount()) == bytes.size(), DataError, path_,
                ": changed while streaming (chunk at byte ", c.offset, " is short)");
  }
  // the processor reads a chunk file (header + the chunk's lines) with the original's extension
  fs::path tmp = fs::temp_directory_path() /
                 cat("graft-stream-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this), fs::path(path_).extension().string());
  write_file_atomic(tmp.string(), header_ + bytes);
  std::vector<RecordProblem> problems;
  std::vector<Basket> baskets;
  try {
    baskets = processor_->read(tmp.string(), problems);
  } catch (...) {
    fs::remove(tmp);
    throw;
  }
  fs::remove(tmp);
  const int64_t shift = c.line - 1 - (header_.empty() ? 0 : 1);
  const std::string tmp_s = tmp.string();
  auto remap = [&](SourceLocation& loc) {
    if (loc.file == tmp_s) {
      loc.file = path_;
      if (loc.line > 0) loc.line += shift;
    }
  };
  for (auto& p : problems) remap(p.loc);
  for (auto& b : baskets) {
    remap(b.loc);
    if (b.id.rfind(tmp_s, 0) == 0) b.id = cat(path_, ":", b.loc.line);
  }
  if (!problems.empty()) {
    std::string list;
    for (size_t i = 0; i < problems.size() && i < 20; ++i) list += cat("\n  ", problems[i].loc.str(), ": ", problems[i].message);
    if (processor_->files().on_error != "skip")
      throw DataError(cat(path_, ": ", problems.size(), " bad record(s) (set on_error = \"skip\" to leave them out):", list));
    log::warn(path_, ": skipped ", problems.size(), " bad record(s) (on_error = \"skip\"):", list);
    skipped_ += static_cast<int64_t>(problems.size());
  }
  featurizer_->featurize(baskets, *processor_, cat(path_, " (chunk ", chunk + 1, "/", offsets_.size(), ")"), &skipped_);
  if (opt_.shuffle)
    seeded_shuffle(baskets, opt_.seed ^ (0xC2B2AE3D27D4EB4FULL * static_cast<uint64_t>(state_.epoch + 1)) ^
                                (0x165667B19E3779F9ULL * static_cast<uint64_t>(chunk + 1)));
  buffer_ = std::move(baskets);
  loaded_ = chunk;
  max_buffered_ = std::max<int64_t>(max_buffered_, static_cast<int64_t>(buffer_.size()));
}

std::vector<Basket> StreamingDataset::next(size_t n) {
  std::vector<Basket> out;
  while (out.size() < n && state_.chunk_pos < static_cast<int64_t>(order_.size())) {
    int64_t chunk = order_[static_cast<size_t>(state_.chunk_pos)];
    if (loaded_ != chunk) load_chunk(chunk);
    if (state_.in_chunk >= static_cast<int64_t>(buffer_.size())) {
      ++state_.chunk_pos;
      state_.in_chunk = 0;
      continue;
    }
    out.push_back(buffer_[static_cast<size_t>(state_.in_chunk++)]);
    ++state_.emitted;
  }
  return out;
}

}  // namespace graft::core
