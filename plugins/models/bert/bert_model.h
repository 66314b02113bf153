#pragma once
// HF BertModel (also MiniLM and other checkpoints with model_type "bert"): embeddings, post-LN
// encoder, tanh pooler; parameter names exactly as the HF checkpoint (no prefix).
#include <graft/language_model.h>
#include <graft/nn/encoder.h>
#include <graft/options.h>

#include <string>
#include <vector>

namespace graft::plugins::bert {

/// config.json keys of a BERT model (unknown HF keys are ignored when reading config.json).
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class BertModel : public LanguageModel {
 public:
  BertModel(const BertConfig& config, const LanguageModelContext& ctx);

  LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  std::string base_model_prefix() const override { return "bert"; }
  std::string architecture_stem() const override { return "Bert"; }
  Value hf_config() const override;
  void init_weights() override;
  std::vector<std::string> ignored_checkpoint_keys() const override { return {"embeddings.position_ids"}; }
  std::vector<std::string> optional_parameter_prefixes() const override { return {"pooler."}; }

  const BertConfig& config() const { return config_; }

  nn::Embeddings embeddings{nullptr};
  nn::Encoder encoder{nullptr};
  nn::Pooler pooler{nullptr};

 private:
  BertConfig config_;
  Value original_config_;
};

}  // namespace graft::plugins::bert
