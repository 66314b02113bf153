#pragma once
// DataSilo: per task train/dev/test baskets read by the task's processor, featurized in
// parallel, with bad-record policy, seeded dev split, statistics and batching.
#include <graft/processor.h>
#include <graft/tokenizer.h>
#include <graft/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace graft::core {

struct SplitStats {
  int64_t baskets = 0;
  int64_t samples = 0;
  double mean_tokens = 0.0;
  int64_t max_tokens = 0;
  double pct_truncated = 0.0;           ///< % of baskets whose input reached max_seq_len or was windowed
  std::map<std::string, int64_t> labels;  ///< label → baskets
  std::string str() const;              ///< one line for the log
};

struct TaskData {
  std::string name;
  std::shared_ptr<Processor> processor;
  std::vector<Basket> train, dev, test;  ///< featurized; bad records removed
  std::map<std::string, SplitStats> stats;  ///< "train" / "dev" / "test"
  int64_t skipped = 0;                      ///< bad records left out (on_error = "skip")
  std::map<std::string, bool> from_cache;   ///< split → loaded from the feature cache
  std::vector<Basket>& split(const std::string& name);
  const std::vector<Basket>& split(const std::string& name) const;
};

struct SiloOptions {
  std::string base_dir;     ///< relative data paths resolve against it (the recipe's directory)
  int64_t seed = 42;        ///< dev split
  int threads = 0;          ///< featurization threads; 0 = available cores
  bool require_train = true;  ///< an empty training set is an error
  /// Feature cache (core/include/graft/core/feature_cache.h). Empty cache_dir = no caching; a
  /// task is cached only when it has a processor fingerprint and tokenizer_fingerprint is set
  /// (configure_feature_cache fills these from a recipe).
  std::string cache_dir;
  std::string tokenizer_fingerprint;
  std::map<std::string, std::string> processor_fingerprints;  ///< task → fingerprint
};

/// Reads and featurizes every task's files. Throws DataError for file problems, for bad
/// records under on_error = "fail" (listing file:line and reason of each, up to 20) and for an
/// empty training set.
class DataSilo {
 public:
  DataSilo(std::vector<std::pair<std::string, std::shared_ptr<Processor>>> tasks,
           std::shared_ptr<const Tokenizer> tokenizer, SiloOptions options);
  /// A silo over baskets already read (evaluation of one file, inference). Featurizes them.
  DataSilo(std::shared_ptr<const Tokenizer> tokenizer, SiloOptions options);

  /// Reads one file for `task` with its processor (problems handled by its on_error policy),
  /// featurizes, and returns the good baskets.
  std::vector<Basket> load_file(Processor& processor, const std::string& path, int64_t* skipped = nullptr) const;
  /// Featurizes baskets in parallel (deterministic, in place), then applies the processor's
  /// on_error policy to baskets with a problem (`what` names the input in messages).
  void featurize(std::vector<Basket>& baskets, const Processor& processor, const std::string& what,
                 int64_t* skipped = nullptr) const;

  const std::vector<TaskData>& tasks() const { return tasks_; }
  std::vector<TaskData>& tasks() { return tasks_; }
  const TaskData& task(const std::string& name) const;
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  std::shared_ptr<const Tokenizer> tokenizer_ptr() const { return tokenizer_; }

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  SiloOptions opt_;
  std::vector<TaskData> tasks_;
};

/// Statistics of featurized baskets (label via processor.label_of).
SplitStats compute_stats(const std::vector<Basket>& baskets, const Processor& processor);

/// Seeded split of `train` into (train, dev) with `fraction` of baskets in dev, stratified by
/// processor.label_of when asked. Order inside each part follows the original order.
void split_dev(std::vector<Basket>& train, std::vector<Basket>& dev, double fraction, bool stratified,
               const Processor& processor, uint64_t seed);

/// Fisher–Yates shuffle with mt19937_64 (identical on every platform, unlike std::shuffle).
template <class T>
void seeded_shuffle(std::vector<T>& v, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng() % i);
    std::swap(v[i - 1], v[j]);
  }
}

/// A batch's rows: (basket, sample) pairs.
using BatchRows = std::vector<std::pair<const Basket*, const Sample*>>;

/// Groups every sample of `baskets` into batches of `batch_size` rows. `shuffle` uses `seed`;
/// `by_length` sorts by sample length first (inference/evaluation: less padding).
std::vector<BatchRows> plan_batches(const std::vector<Basket>& baskets, int64_t batch_size, bool shuffle,
                                    uint64_t seed, bool by_length = false);
/// Collates rows with the processor (padding to the longest in the batch) and records
/// samples/baskets in the batch.
Batch collate_rows(const BatchRows& rows, const Processor& processor, const Tokenizer& tokenizer);

}  // namespace graft::core
