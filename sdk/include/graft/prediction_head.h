#pragma once
// PredictionHead: task-specific layers on top of the language model. Parameter names follow the
// HF *For<Task> layout without the base-model prefix ("classifier.weight").
#include <graft/export.h>
#include <graft/language_model.h>
#include <graft/types.h>
#include <graft/value.h>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace graft {

struct HeadContext {
  std::string task;                 ///< task name from the recipe ("sentiment")
  int64_t hidden_size = 0;          ///< of the language model
  std::string model_type;           ///< config.json model_type of the LM ("bert")
  std::vector<std::string> labels;  ///< from the processor / recipe / saved model
  Value hf_config;                  ///< LM config.json (dropout probs, id2label when loading HF heads)
};

/// How a head maps onto a Hugging Face *For<Task> checkpoint.
struct HfHeadExport {
  std::string architecture_suffix;  ///< "ForSequenceClassification"; empty = no HF equivalent
  Value config;                     ///< keys merged into config.json (id2label, label2id, problem_type...)
};

class GRAFT_SDK_API PredictionHead : public torch::nn::Module {
 public:
  ~PredictionHead() override;
  /// Logits for the batch (any shape with dim 0 = rows).
  virtual torch::Tensor forward(const LMOutput& lm, const Batch& batch) = 0;
  /// Per-row losses [B] (reduction is the trainer's: mean over rows, task weights).
  virtual torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) = 0;
  /// One JSON prediction per input: `logits` holds one tensor per sample of the basket
  /// (dim 0 removed), in sample order.
  virtual Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const = 0;
  /// The value metrics compare (e.g. the label string) from a formatted prediction.
  virtual Value prediction_for_metric(const Value& formatted) const = 0;
  /// The gold value of a labelled basket, in the same form.
  virtual Value gold_for_metric(const Basket& basket) const = 0;
  virtual std::vector<std::string> labels() const { return {}; }
  virtual HfHeadExport hf_export() const { return {}; }
  /// Initialise parameters HF-style (normal(0, std), zero bias).
  virtual void init_weights(double initializer_range) = 0;
};

}  // namespace graft
