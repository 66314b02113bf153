#pragma once
// Streaming data sets for files larger than memory: the file is cut into chunks of
// `chunk_records` records (lines, or blank-line separated blocks for CoNLL-like files); only
// one chunk is read, featurized and held at a time. Each epoch visits the chunks in a seeded
// order and shuffles inside each chunk (a buffer of chunk_records), so the order is
// deterministic per (seed, epoch). Sharding (e.g. one shard per DDP rank) assigns whole chunks:
// chunk i belongs to shard i % num_shards. The position is a small StreamState that a
// checkpoint saves and restore() resumes exactly.
#include <graft/core/data_silo.h>
#include <graft/processor.h>
#include <graft/tokenizer.h>
#include <graft/value.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace graft::core {

struct StreamOptions {
  int64_t chunk_records = 10000;  ///< records per chunk: the memory bound
  bool header = false;            ///< the first line is a header, given to the processor with every chunk
  bool blank_line_records = false;  ///< records are blocks separated by blank lines (CoNLL)
  bool shuffle = true;
  uint64_t seed = 42;
  int64_t num_shards = 1;
  int64_t shard_index = 0;
  int threads = 0;  ///< featurization threads (0 = available cores)
};

/// Where a stream stands: saved in checkpoints, restored with StreamingDataset::restore.
struct StreamState {
  int64_t epoch = 0;
  int64_t chunk_pos = 0;   ///< position in this epoch's chunk order
  int64_t in_chunk = 0;    ///< baskets of that chunk already handed out
  int64_t emitted = 0;     ///< baskets handed out this epoch
  Value to_value() const;
  static StreamState from_value(const Value& v);  ///< FormatError naming the bad field
  bool operator==(const StreamState& o) const {
    return epoch == o.epoch && chunk_pos == o.chunk_pos && in_chunk == o.in_chunk && emitted == o.emitted;
  }
};

class StreamingDataset {
 public:
  /// Scans `path` once for chunk boundaries (byte offsets; no records are kept).
  StreamingDataset(std::string path, std::shared_ptr<Processor> processor, std::shared_ptr<const Tokenizer> tokenizer,
                   StreamOptions options);
  /// Up to `n` featurized baskets; fewer only at the end of the epoch (then empty until
  /// start_epoch). Bad records follow the processor's on_error policy.
  std::vector<Basket> next(size_t n);
  /// Starts epoch `epoch` from its first chunk.
  void start_epoch(int64_t epoch);
  const StreamState& state() const { return state_; }
  /// Continues exactly where `state` was taken (same file, options and shard).
  void restore(const StreamState& state);
  int64_t chunks() const { return static_cast<int64_t>(offsets_.size()); }  ///< chunks of the whole file
  int64_t skipped() const { return skipped_; }
  /// Most baskets held in memory at once (≤ chunk_records): the bound the tests check.
  int64_t max_buffered() const { return max_buffered_; }

 private:
  struct ChunkStart {
    uint64_t offset;
    int64_t line;  ///< 1-based line of its first record
  };
  std::vector<int64_t> order(int64_t epoch) const;  ///< this shard's chunks in epoch order
  void load_chunk(int64_t chunk);

  std::string path_;
  std::shared_ptr<Processor> processor_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  StreamOptions opt_;
  std::string header_;
  std::vector<ChunkStart> offsets_;
  uint64_t end_ = 0;
  StreamState state_;
  std::vector<int64_t> order_;
  std::vector<Basket> buffer_;
  int64_t loaded_ = -1;  ///< chunk in buffer_
  int64_t skipped_ = 0;
  int64_t max_buffered_ = 0;
  std::unique_ptr<DataSilo> featurizer_;
};

}  // namespace graft::core
