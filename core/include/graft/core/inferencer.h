#pragma once
// Inferencer: a model directory → one formatted prediction per input dict, for every task
// (or one), batching by length while keeping the input order.
#include <graft/core/model_dir.h>
#include <graft/value.h>

#include <string>
#include <vector>

namespace graft::core {

struct InferOptions {
  int64_t batch_size = 32;
  std::string precision = "fp32";
  int threads = 0;  ///< featurization threads (0 = available cores)
};

class Inferencer {
 public:
  Inferencer(ModelBundle bundle, InferOptions options = {});
  /// load_model_dir + Inferencer.
  static Inferencer load(const std::string& dir, Registry& registry, const torch::Device& device = torch::kCPU,
                         InferOptions options = {});

  /// One prediction per dict, in input order: for a single-task model (or `task` given) the
  /// head's formatted object; otherwise an object task → prediction. DataError naming the
  /// input index for bad inputs (e.g. a missing "text").
  std::vector<Value> infer(const std::vector<Value>& dicts, const std::string& task = "");
  /// Convenience: {"text": t} (and "text_b" when `pairs` is non-empty, same length).
  std::vector<Value> infer_texts(const std::vector<std::string>& texts, const std::vector<std::string>& pairs = {},
                                 const std::string& task = "");

  ModelBundle& bundle() { return bundle_; }

 private:
  std::vector<Value> infer_task(const std::vector<Value>& dicts, const std::string& task);
  ModelBundle bundle_;
  InferOptions opt_;
};

}  // namespace graft::core
