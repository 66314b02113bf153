#pragma once
// token_classification head: dropout + Linear(hidden, num_labels) on every token, parameter
// names as HF *ForTokenClassification ("classifier.weight/bias").
#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::token_classification {

struct HeadOptions {
  std::vector<std::string> labels;
  double dropout = -1.0;
  std::string aggregation = "first";  ///< which sub-token decides a word's tag: "first" | "average"

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class TokenClassificationHead : public PredictionHead {
 public:
  TokenClassificationHead(const HeadOptions& options, const HeadContext& context);

  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  /// {"words", "tags", "scores", "entities": [{"type", "text", "start", "end", "score", "first_word",
  /// "last_word"}]}; start/end are character (code point) offsets into the input text, end exclusive.
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  Value prediction_for_metric(const Value& formatted) const override { return formatted.at("tags"); }
  Value gold_for_metric(const Basket& basket) const override;
  std::vector<std::string> labels() const override { return labels_; }
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  std::string label_key() const { return task_ + "/label_ids"; }

 private:
  std::string task_;
  std::vector<std::string> labels_;
  std::string aggregation_;
  double dropout_p_ = 0.1;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

}  // namespace graft::plugins::token_classification
