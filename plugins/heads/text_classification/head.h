#pragma once
// text_classification head: dropout + Linear(hidden, num_labels) on the pooled output, with
// parameter names exactly as HF *ForSequenceClassification ("classifier.weight/bias").
#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::text_classification {

struct HeadOptions {
  std::vector<std::string> labels;
  double dropout = -1.0;
  Value class_weights;                ///< null | "balanced" | [numbers]
  std::vector<int64_t> class_counts;  ///< training label counts, label order (for "balanced")

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class TextClassificationHead : public PredictionHead {
 public:
  TextClassificationHead(const HeadOptions& options, const HeadContext& context);

  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  Value prediction_for_metric(const Value& formatted) const override;
  Value gold_for_metric(const Basket& basket) const override;
  std::vector<std::string> labels() const override { return labels_; }
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  double dropout_probability() const { return dropout_p_; }
  /// Per-class loss weights in label order (undefined tensor = unweighted).
  const torch::Tensor& class_weights() const { return class_weights_; }
  std::string label_key() const { return task_ + "/label_ids"; }

 private:
  std::string task_;
  std::vector<std::string> labels_;
  double dropout_p_ = 0.1;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  torch::Tensor class_weights_;
};

}  // namespace graft::plugins::text_classification
