#pragma once
// Processor: turns files / dicts into Baskets, Baskets into Samples, Samples into Batches.
#include <graft/export.h>
#include <graft/options.h>
#include <graft/tokenizer.h>
#include <graft/types.h>

#include <string>
#include <vector>

namespace graft {

/// Data files and error policy shared by every processor; embed it in a processor's
/// Options and call `files.visit(v)` first in its visit().
struct DataFiles {
  std::string train;  ///< path (relative paths resolve against the recipe's directory)
  std::string dev;
  std::string test;
  double dev_split = 0.0;     ///< fraction of train held out as dev when `dev` is empty
  bool dev_stratified = false;
  std::string on_error = "fail";  ///< "skip" | "fail" for bad records
  int64_t max_samples = 0;        ///< 0 = all (per file)

  void visit(OptionVisitor& v) {
    v.optional("train", train, "training data file");
    v.optional("dev", dev, "development data file (empty: split from train by dev_split)");
    v.optional("test", test, "test data file");
    v.optional("dev_split", dev_split, "fraction of train held out as dev when no dev file is given", in_range(0.0, 0.9));
    v.optional("dev_stratified", dev_stratified, "keep the label distribution in the dev split");
    v.optional("on_error", on_error, "what a bad record does: skip it (counted and reported) or fail the run", one_of({"skip", "fail"}));
    v.optional("max_samples", max_samples, "read at most this many records per file (0 = all)", at_least(0));
  }
};

/// A bad record: where and why. Collected, counted and reported by the silo.
struct RecordProblem {
  SourceLocation loc;
  std::string message;
};

class GRAFT_SDK_API Processor {
 public:
  virtual ~Processor();
  /// Task name this processor feeds (set by core before use; label tensors are "<task>/...").
  void set_task(const std::string& task) { task_ = task; }
  const std::string& task() const { return task_; }

  virtual const DataFiles& files() const = 0;
  /// Reads a file into baskets. Bad records go into `problems` (with file:line) and are left
  /// out; a file-level problem (missing, not UTF-8, no header) throws DataError.
  virtual std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const = 0;
  /// Builds baskets from inference dicts ({"text": ...}); `labelled` false at inference.
  virtual std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const = 0;
  /// Tokenizes and builds samples. Pure and thread-safe; on failure sets basket.problem.
  virtual void featurize(Basket& basket, const Tokenizer& tokenizer) const = 0;
  /// Pads and stacks samples into a batch (inputs and, where present, labels).
  virtual Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const = 0;
  /// Label list (index order) for classification-like tasks; empty otherwise.
  virtual std::vector<std::string> labels() const { return {}; }
  /// Called with the training baskets before featurization, so a processor can collect its
  /// label list when the recipe did not give one.
  virtual void prepare(const std::vector<Basket>& train) { (void)train; }
  /// The label of a basket for statistics/stratification ("" when none).
  virtual std::string label_of(const Basket& basket) const { (void)basket; return {}; }
  /// Max sequence length the processor truncates to (for statistics).
  virtual int64_t max_seq_len() const = 0;

 private:
  std::string task_;
};

}  // namespace graft
