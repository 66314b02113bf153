#pragma once
// text_classification head with the layout of the language model family's HF
// *ForSequenceClassification class, parameter names exactly as HF's:
//   bert, albert (and any family not listed): dropout + `classifier` on the pooled output
//     (the first token when the family has no pooler);
//   roberta, xlm-roberta, camembert, electra: `classifier.dense` → tanh (ELECTRA: exact GELU) →
//     `classifier.out_proj` on the first token, dropout before each linear layer;
//   distilbert: `pre_classifier` → ReLU → dropout → `classifier` on the first token.
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

/// How the classifier sits on the encoder (chosen from HeadContext::model_type).
enum class ClassifierLayout { pooled_linear, first_token_mlp, distilbert };
ClassifierLayout classifier_layout_for(const std::string& model_type);

/// HF RobertaClassificationHead / ElectraClassificationHead: `dense`, `out_proj`.
class FirstTokenMlpImpl : public torch::nn::Module {
 public:
  FirstTokenMlpImpl(int64_t hidden_size, int64_t num_labels, double dropout, bool gelu);
  torch::Tensor forward(const torch::Tensor& first_token);
  torch::nn::Linear dense{nullptr}, out_proj{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  bool gelu_;
};
TORCH_MODULE(FirstTokenMlp);

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
  ClassifierLayout layout() const { return layout_; }

 private:
  std::string task_;
  std::vector<std::string> labels_;
  double dropout_p_ = 0.1;
  ClassifierLayout layout_ = ClassifierLayout::pooled_linear;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};      ///< pooled_linear, distilbert
  torch::nn::Linear pre_classifier_{nullptr};  ///< distilbert
  FirstTokenMlp mlp_{nullptr};                 ///< first_token_mlp (registered as "classifier")
  torch::Tensor class_weights_;
};

}  // namespace graft::plugins::text_classification
