#pragma once
// The layers HF *ForSequenceClassification puts on top of each encoder family, registered on the
// owning head under exactly HF's parameter names, so the multilabel, regression and ranking heads
// load and save the same checkpoints as transformers 4.7.0:
//   bert, albert, (default)       dropout → classifier            on the pooled output ([CLS] if none)
//   roberta, xlm-roberta, camembert  classifier.dense → tanh → dropout → classifier.out_proj on [CLS]
//   electra                       classifier.dense → gelu → dropout → classifier.out_proj on [CLS]
//   distilbert                    pre_classifier → relu → dropout → classifier on [CLS]
// (HF applies dropout before classifier.dense too; dropout is the identity at inference.)
#include <graft/language_model.h>
#include <graft/value.h>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace graft::plugins::common {

/// config.json id2label {"0": "a", "1": "b"} → ["a", "b"]; empty when absent. FormatError naming
/// the config when the keys are not 0..n-1 or the values not strings.
std::vector<std::string> labels_from_id2label(const Value& config);

class SequenceScorer {
 public:
  /// Registers the layers on `owner`. `dropout` < 0 = the family's config.json default.
  void build(torch::nn::Module& owner, const std::string& model_type, int64_t hidden_size, int64_t outputs,
             double dropout, const Value& hf_config);
  torch::Tensor forward(const LMOutput& lm);
  /// HF init: normal(0, range) weights, zero biases.
  void init_weights(double initializer_range);
  double dropout_probability() const { return dropout_p_; }
  const std::string& layout() const { return layout_; }

 private:
  std::string layout_;  ///< "pooled" | "roberta" | "electra" | "distilbert"
  double dropout_p_ = 0.1;
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear dense_{nullptr};  ///< classifier.dense / pre_classifier
  torch::nn::Linear out_{nullptr};    ///< classifier / classifier.out_proj
};

}  // namespace graft::plugins::common
