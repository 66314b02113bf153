#pragma once
// language_modeling heads, in the layouts of the HF pre-training classes (parameter names exactly
// as HF's, without the base-model prefix):
//   masked_lm (HF *ForMaskedLM): transform (dense → activation → LayerNorm) then a decoder whose
//     weight is the language model's input word-embedding matrix (tied, LMOutput::word_embeddings)
//     plus its own bias:
//       bert        cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias   (hidden_act)
//       roberta, xlm-roberta, camembert
//                   lm_head.{dense,layer_norm}, lm_head.bias                          (exact GELU)
//       electra     generator_predictions.{dense,LayerNorm}, generator_lm_head.bias   (exact GELU; LN eps 1e-5)
//       distilbert  vocab_transform, vocab_layer_norm, vocab_projector.bias           (exact GELU; LN eps 1e-12)
//       albert      predictions.{dense,LayerNorm}, predictions.bias                   (hidden_act; LN eps 1e-5)
//   electra_discriminator (HF ElectraForPreTraining): discriminator_predictions.dense →
//     hidden_act → discriminator_predictions.dense_prediction → one logit per token.
#include <graft/nn/activations.h>
#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::language_modeling {

struct MaskedLmOptions {
  int64_t top_k = 5;  ///< predictions listed per position by format()

  void visit(OptionVisitor& v);
};

/// The families masked_lm knows (config.json model_type values).
std::vector<std::string> masked_lm_model_types();

class MaskedLmHead : public PredictionHead {
 public:
  MaskedLmHead(const MaskedLmOptions& options, const HeadContext& context);

  /// Logits [B, T, vocab].
  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  /// Cross-entropy over the positions whose label (`<task>/label_ids` [B, T]) is not -100. The
  /// per-row values are scaled so that their mean is HF's loss (the mean over all labelled tokens
  /// of the batch); rows without labelled tokens contribute 0.
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  /// {"tokens": [{"position", "input_id", "predictions": [{"id", "probability"}...top_k]}...]} for
  /// every real (attention_mask 1) position of each sample.
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  /// The list of argmax ids per real position.
  Value prediction_for_metric(const Value& formatted) const override;
  /// The record's "label_ids" array (ids, -100 = not scored).
  Value gold_for_metric(const Basket& basket) const override;
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  std::string label_key() const { return task_ + "/label_ids"; }
  const std::string& model_type() const { return model_type_; }

 private:
  std::string task_, model_type_;
  int64_t top_k_ = 5, vocab_size_ = 0;
  nn::Activation act_ = nn::Activation::gelu;
  torch::nn::Linear dense_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::Tensor bias_;
};

struct DiscriminatorOptions {
  double threshold = 0.5;  ///< probability above which format() calls a token replaced

  void visit(OptionVisitor& v);
};

class ElectraDiscriminatorHead : public PredictionHead {
 public:
  ElectraDiscriminatorHead(const DiscriminatorOptions& options, const HeadContext& context);

  /// Logits [B, T] (positive = replaced token).
  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  /// BCE-with-logits over the positions with attention_mask 1 (labels `<task>/label_ids` [B, T],
  /// 0 = original, 1 = replaced), per-row values scaled so that their mean is HF's loss.
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  /// {"tokens": [{"position", "input_id", "probability_replaced", "replaced"}...]} per real position.
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  Value prediction_for_metric(const Value& formatted) const override;
  Value gold_for_metric(const Basket& basket) const override;
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  std::string label_key() const { return task_ + "/label_ids"; }

 private:
  std::string task_;
  double threshold_ = 0.5;
  nn::Activation act_ = nn::Activation::gelu;
  torch::nn::Linear dense_{nullptr}, dense_prediction_{nullptr};
};

}  // namespace graft::plugins::language_modeling
