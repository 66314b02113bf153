#pragma once
// Evaluator: runs the model over labelled baskets and computes each task's metrics
// ("task/metric" keys) and reports. predict_baskets() is shared with the Inferencer.
#include <graft/core/adaptive_model.h>
#include <graft/metric.h>
#include <graft/processor.h>
#include <graft/tokenizer.h>
#include <graft/value.h>

#include <memory>
#include <string>
#include <vector>

namespace graft::core {

class Registry;

struct PredictOptions {
  int64_t batch_size = 32;
  std::string precision = "fp32";
  bool compute_loss = false;  ///< also average the task loss (needs labels in the batches)
};

struct Predictions {
  std::vector<Value> formatted;  ///< one per basket, in basket order (head.format)
  double loss = 0.0;             ///< mean per-row loss when compute_loss
};

/// Featurized baskets → one formatted prediction per basket (batches sorted by length, original
/// order kept). The model is put in eval mode and left so.
Predictions predict_baskets(AdaptiveModel& model, const std::string& task, const Processor& processor,
                            const Tokenizer& tokenizer, const std::vector<Basket>& baskets,
                            const PredictOptions& options);

struct NamedMetric {
  std::string name;  ///< registry name ("acc")
  std::shared_ptr<Metric> metric;
};

/// Instantiates registry metrics by name (default options). ConfigError for unknown names.
std::vector<NamedMetric> make_metrics(const std::vector<std::string>& names, Registry& registry);

struct TaskEvaluation {
  Value metrics = Value::object();  ///< "task/key" → number (and "task/loss")
  std::string report;               ///< concatenated metric reports
  MetricInput input;                ///< labels, gold and predictions (kept with `with_report`; report.html)
};

class Evaluator {
 public:
  Evaluator(AdaptiveModel& model, const Tokenizer& tokenizer, PredictOptions options);
  /// Sets the metrics used for `task`.
  void set_metrics(const std::string& task, std::vector<NamedMetric> metrics);
  /// Evaluates one task on labelled baskets. With `with_report` the metrics' report() texts
  /// are collected. DataError when `baskets` is empty.
  TaskEvaluation evaluate(const std::string& task, const Processor& processor, const std::vector<Basket>& baskets,
                          bool with_report = false);

 private:
  AdaptiveModel& model_;
  const Tokenizer& tokenizer_;
  PredictOptions opt_;
  std::map<std::string, std::vector<NamedMetric>> metrics_;
};

/// Merges numeric entries of `from` into `into` (objects of "key" → number).
void merge_metrics(Value& into, const Value& from);

}  // namespace graft::core
