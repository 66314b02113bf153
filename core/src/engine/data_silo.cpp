// DataSilo: reading, parallel featurization, bad-record policy, dev split, statistics, batching.
#include <graft/core/data_silo.h>
#include <graft/core/feature_cache.h>
#include <graft/core/files.h>
#include <graft/core/runtime.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <iomanip>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace graft::core {

std::string SplitStats::str() const {
  std::ostringstream os;
  os << baskets << " records, " << samples << " samples, tokens mean " << std::fixed << std::setprecision(1)
     << mean_tokens << " max " << max_tokens << ", " << pct_truncated << "% truncated";
  if (!labels.empty()) {
    os << ", labels {";
    bool first = true;
    for (const auto& [l, n] : labels) {
      os << (first ? "" : ", ") << l << ": " << n;
      first = false;
    }
    os << "}";
  }
  return os.str();
}

std::vector<Basket>& TaskData::split(const std::string& name) {
  return const_cast<std::vector<Basket>&>(static_cast<const TaskData*>(this)->split(name));
}

const std::vector<Basket>& TaskData::split(const std::string& name) const {
  if (name == "train") return train;
  if (name == "dev") return dev;
  if (name == "test") return test;
  throw Error(cat("unknown data split '", name, "' (expected train, dev or test)"));
}

namespace {

constexpr size_t kMaxListed = 20;

std::string list_problems(const std::vector<RecordProblem>& problems, size_t max) {
  std::ostringstream os;
  for (size_t i = 0; i < problems.size() && i < max; ++i)
    os << "\n  " << problems[i].loc.str() << ": " << problems[i].message;
  if (problems.size() > max) os << "\n  ... and " << (problems.size() - max) << " more";
  return os.str();
}

/// Applies the on_error policy: throws (fail) or logs (skip) and returns the count.
int64_t handle_problems(const std::vector<RecordProblem>& problems, const Processor& processor,
                        const std::string& what) {
  if (problems.empty()) return 0;
  const std::string& policy = processor.files().on_error;
  if (policy == "skip") {
    log::warn(what, ": skipped ", problems.size(), " bad record", problems.size() == 1 ? "" : "s",
              " (on_error = \"skip\"):", list_problems(problems, 5));
    return static_cast<int64_t>(problems.size());
  }
  throw DataError(cat(what, ": ", problems.size(), " bad record", problems.size() == 1 ? "" : "s",
                      " (set on_error = \"skip\" to leave them out):", list_problems(problems, kMaxListed)));
}

}  // namespace

DataSilo::DataSilo(std::shared_ptr<const Tokenizer> tokenizer, SiloOptions options)
    : tokenizer_(std::move(tokenizer)), opt_(std::move(options)) {
  GRAFT_CHECK(tokenizer_ != nullptr, Error, "DataSilo: no tokenizer");
}

DataSilo::DataSilo(std::vector<std::pair<std::string, std::shared_ptr<Processor>>> tasks,
                   std::shared_ptr<const Tokenizer> tokenizer, SiloOptions options)
    : DataSilo(std::move(tokenizer), std::move(options)) {
  for (auto& [name, proc] : tasks) {
    GRAFT_CHECK(proc != nullptr, Error, "DataSilo: task '", name, "' has no processor");
    proc->set_task(name);
    TaskData td;
    td.name = name;
    td.processor = proc;
    const DataFiles& files = proc->files();
    std::string what = cat("task '", name, "'");

    // Feature cache: one entry per split, keyed by everything that changes its features. The
    // key covers every data file of the task, because labels collected from train feed dev/test.
    std::map<std::string, std::string> keys;
    std::optional<FeatureCache> cache;
    auto fp = opt_.processor_fingerprints.find(name);
    if (!opt_.cache_dir.empty() && !opt_.tokenizer_fingerprint.empty() && fp != opt_.processor_fingerprints.end() &&
        !fp->second.empty()) {
      try {
        CacheKey k;
        k.add("format", std::to_string(kFeatureCacheFormat)).add("graft", GRAFT_VERSION).add("task", name);
        k.add("tokenizer", opt_.tokenizer_fingerprint).add("processor", fp->second);
        for (const auto& [split, rel] : {std::pair<const char*, const std::string*>{"train", &files.train},
                                         {"dev", &files.dev}, {"test", &files.test}})
          if (!rel->empty()) k.add_file(cat("data ", split), resolve_path(opt_.base_dir, *rel));
        for (const char* split : {"train", "dev", "test"}) keys[split] = CacheKey(k).add("split", split).hex();
        cache.emplace(opt_.cache_dir);
      } catch (const Error& e) {  // e.g. a missing file: the reader below reports it properly
        log::debug(what, ": feature cache not used: ", e.what());
        keys.clear();
      }
    }
    std::map<std::string, int64_t> read_skipped;  // split → bad records found while reading
    auto try_cache = [&](const char* split, std::vector<Basket>& out, const std::string& path) -> bool {
      if (!cache) return false;
      CacheInfo info;
      auto hit = cache->load(keys.at(split), &info);
      if (!hit) return false;
      if (std::string(split) == "train") {
        proc->prepare(*hit);
        if (proc->labels() != info.labels) {
          log::warn(what, ": cached training features were built with another label list; rebuilding them");
          return false;
        }
      }
      out = std::move(*hit);
      td.skipped += info.skipped;
      td.from_cache[split] = true;
      log::info(what, " ", split, ": ", out.size(), " featurized records from the feature cache (", path, ")");
      return true;
    };

    // read train first so the processor can collect its labels before featurization
    std::vector<RecordProblem> problems;
    std::string train_path;
    if (!files.train.empty()) {
      train_path = resolve_path(opt_.base_dir, files.train);
      if (!try_cache("train", td.train, train_path)) {
        td.train = proc->read(train_path, problems);
        if (files.max_samples > 0 && static_cast<int64_t>(td.train.size()) > files.max_samples)
          td.train.resize(static_cast<size_t>(files.max_samples));
        read_skipped["train"] = handle_problems(problems, *proc, cat(what, " train file ", train_path));
        td.skipped += read_skipped["train"];
        // an empty training set is reported before dev/test are read: their labels cannot be mapped anyway
        GRAFT_CHECK(!opt_.require_train || !td.train.empty(), DataError, what, ": the training set is empty: ", train_path,
                    " has no usable records", td.skipped > 0 ? cat(" (", td.skipped, " bad records skipped)") : std::string());
        proc->prepare(td.train);
      }
    }
    auto read_split = [&](const std::string& rel, std::vector<Basket>& out, const char* split) {
      if (rel.empty()) return;
      std::string path = resolve_path(opt_.base_dir, rel);
      if (try_cache(split, out, path)) return;
      std::vector<RecordProblem> pr;
      out = proc->read(path, pr);
      if (files.max_samples > 0 && static_cast<int64_t>(out.size()) > files.max_samples)
        out.resize(static_cast<size_t>(files.max_samples));
      read_skipped[split] = handle_problems(pr, *proc, cat(what, " ", split, " file ", path));
      td.skipped += read_skipped[split];
    };
    read_split(files.dev, td.dev, "dev");
    read_split(files.test, td.test, "test");

    for (const auto& [split, rel] : {std::pair<const char*, const std::string*>{"train", &files.train},
                                     {"dev", &files.dev}, {"test", &files.test}}) {
      if (rel->empty() || td.from_cache.count(split)) continue;
      std::string path = resolve_path(opt_.base_dir, *rel);
      int64_t before = td.skipped;
      featurize(td.split(split), *proc, cat(what, " ", split, " file ", path), &td.skipped);
      if (cache && !td.split(split).empty()) {
        CacheInfo info;
        info.skipped = read_skipped[split] + (td.skipped - before);
        info.source = path;
        if (std::string(split) == "train") info.labels = proc->labels();
        if (cache->store(keys.at(split), td.split(split), info))
          log::debug(what, " ", split, ": featurized records stored in the feature cache ", cache->path_for(keys.at(split)));
      }
    }

    if (opt_.require_train) {
      GRAFT_CHECK(!files.train.empty(), ConfigError, what, ": no training file (set the processor's 'train' option)");
      GRAFT_CHECK(!td.train.empty(), DataError, what, ": the training set is empty: ", train_path, " has no usable records",
                  td.skipped > 0 ? cat(" (", td.skipped, " bad records skipped)") : std::string());
    }
    if (files.dev.empty() && files.dev_split > 0.0 && !td.train.empty()) {
      split_dev(td.train, td.dev, files.dev_split, files.dev_stratified, *proc, static_cast<uint64_t>(opt_.seed));
      GRAFT_CHECK(!td.train.empty(), DataError, what, ": dev_split ", files.dev_split, " leaves no training records");
    }
    for (const char* s : {"train", "dev", "test"}) {
      const auto& b = td.split(s);
      if (b.empty()) continue;
      td.stats[s] = compute_stats(b, *proc);
      log::info(what, " ", s, ": ", td.stats[s].str());
    }
    if (td.skipped > 0) log::warn(what, ": ", td.skipped, " bad records skipped in total");
    tasks_.push_back(std::move(td));
  }
}

const TaskData& DataSilo::task(const std::string& name) const {
  for (const auto& t : tasks_)
    if (t.name == name) return t;
  std::string known;
  for (const auto& t : tasks_) known += (known.empty() ? "" : ", ") + t.name;
  throw ConfigError(cat("no task named '", name, "' (tasks: ", known, ")"));
}

std::vector<Basket> DataSilo::load_file(Processor& processor, const std::string& path, int64_t* skipped) const {
  std::vector<RecordProblem> problems;
  std::string resolved = resolve_path(opt_.base_dir, path);
  auto baskets = processor.read(resolved, problems);
  int64_t n = handle_problems(problems, processor, resolved);
  featurize(baskets, processor, resolved, &n);
  if (skipped) *skipped += n;
  return baskets;
}

void DataSilo::featurize(std::vector<Basket>& baskets, const Processor& processor, const std::string& what,
                         int64_t* skipped) const {
  const size_t n = baskets.size();
  if (n == 0) return;
  int threads = opt_.threads > 0 ? opt_.threads : available_cores();
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), (n + 63) / 64));
  threads = std::max(threads, 1);
  auto work = [&](size_t begin, size_t end, std::exception_ptr& err) {
    try {
      // Tensor creation inside featurization must not spawn nested intra-op threads.
      for (size_t i = begin; i < end; ++i) {
        Basket& b = baskets[i];
        try {
          processor.featurize(b, *tokenizer_);
          if (b.problem.empty() && b.samples.empty()) b.problem = "produced no samples";
        } catch (const Error& e) {
          b.problem = e.what();
          b.samples.clear();
        }
      }
    } catch (...) {
      err = std::current_exception();
    }
  };
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  if (threads == 1) {
    work(0, n, errors[0]);
  } else {
    std::vector<std::thread> pool;
    size_t chunk = (n + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
    for (int t = 0; t < threads; ++t) {
      size_t b = static_cast<size_t>(t) * chunk, e = std::min(n, b + chunk);
      if (b >= e) break;
      pool.emplace_back(work, b, e, std::ref(errors[static_cast<size_t>(t)]));
    }
    for (auto& th : pool) th.join();
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);

  std::vector<RecordProblem> problems;
  for (const auto& b : baskets)
    if (!b.problem.empty()) problems.push_back(RecordProblem{b.loc, b.problem});
  if (problems.empty()) return;
  int64_t count = handle_problems(problems, processor, what);
  if (skipped) *skipped += count;
  baskets.erase(std::remove_if(baskets.begin(), baskets.end(), [](const Basket& b) { return !b.problem.empty(); }),
                baskets.end());
}

SplitStats compute_stats(const std::vector<Basket>& baskets, const Processor& processor) {
  SplitStats s;
  s.baskets = static_cast<int64_t>(baskets.size());
  int64_t total = 0, truncated = 0;
  const int64_t max_len = processor.max_seq_len();
  for (const auto& b : baskets) {
    bool trunc = b.samples.size() > 1;
    for (const auto& smp : b.samples) {
      auto it = smp.features.find("input_ids");
      int64_t len = it != smp.features.end() ? it->second.size(0) : static_cast<int64_t>(smp.encoding.ids.size());
      total += len;
      s.max_tokens = std::max(s.max_tokens, len);
      if (max_len > 0 && len >= max_len) trunc = true;
      ++s.samples;
    }
    if (trunc) ++truncated;
    std::string label = processor.label_of(b);
    if (!label.empty()) ++s.labels[label];
  }
  s.mean_tokens = s.samples > 0 ? static_cast<double>(total) / static_cast<double>(s.samples) : 0.0;
  s.pct_truncated = s.baskets > 0 ? 100.0 * static_cast<double>(truncated) / static_cast<double>(s.baskets) : 0.0;
  return s;
}

void split_dev(std::vector<Basket>& train, std::vector<Basket>& dev, double fraction, bool stratified,
               const Processor& processor, uint64_t seed) {
  GRAFT_CHECK(fraction >= 0.0 && fraction < 1.0, ConfigError, "dev_split must be in [0, 1), got ", fraction);
  const size_t n = train.size();
  std::vector<char> to_dev(n, 0);
  if (stratified) {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i = 0; i < n; ++i) groups[processor.label_of(train[i])].push_back(i);
    uint64_t k = 0;
    for (auto& [label, idx] : groups) {
      seeded_shuffle(idx, seed + 0x9E3779B97F4A7C15ULL * ++k);
      auto take = static_cast<size_t>(std::llround(fraction * static_cast<double>(idx.size())));
      for (size_t i = 0; i < take; ++i) to_dev[idx[i]] = 1;
    }
  } else {
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    seeded_shuffle(idx, seed);
    auto take = static_cast<size_t>(fraction * static_cast<double>(n));
    if (take == 0 && fraction > 0.0 && n > 1) take = 1;
    for (size_t i = 0; i < take; ++i) to_dev[idx[i]] = 1;
  }
  std::vector<Basket> keep;
  keep.reserve(n);
  for (size_t i = 0; i < n; ++i) (to_dev[i] ? dev : keep).push_back(std::move(train[i]));
  train = std::move(keep);
}

std::vector<BatchRows> plan_batches(const std::vector<Basket>& baskets, int64_t batch_size, bool shuffle,
                                    uint64_t seed, bool by_length) {
  GRAFT_CHECK(batch_size > 0, ConfigError, "batch_size must be > 0, got ", batch_size);
  BatchRows rows;
  for (const auto& b : baskets)
    for (const auto& s : b.samples) rows.emplace_back(&b, &s);
  if (shuffle) seeded_shuffle(rows, seed);
  if (by_length) {
    auto len = [](const Sample* s) {
      auto it = s->features.find("input_ids");
      return it != s->features.end() ? it->second.size(0) : static_cast<int64_t>(s->encoding.ids.size());
    };
    std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return len(a.second) < len(b.second); });
  }
  std::vector<BatchRows> out;
  for (size_t i = 0; i < rows.size(); i += static_cast<size_t>(batch_size))
    out.emplace_back(rows.begin() + static_cast<std::ptrdiff_t>(i),
                     rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + static_cast<size_t>(batch_size))));
  return out;
}

Batch collate_rows(const BatchRows& rows, const Processor& processor, const Tokenizer& tokenizer) {
  std::vector<const Sample*> samples;
  samples.reserve(rows.size());
  for (const auto& r : rows) samples.push_back(r.second);
  Batch b = processor.collate(samples, tokenizer);
  b.samples = samples;
  b.baskets.clear();
  for (const auto& r : rows) b.baskets.push_back(r.first);
  return b;
}

}  // namespace graft::core
