#pragma once
// HF ElectraModel (discriminator and generator checkpoints): BERT-style embeddings of width
// embedding_size, `embeddings_project` (Linear embedding_size → hidden_size) when the two differ,
// the post-LN encoder, and no pooler (heads use the first token). Parameter names exactly as the
// HF checkpoint (no prefix; head checkpoints store them under "electra.").
#include <graft/language_model.h>
#include <graft/nn/encoder.h>
#include <graft/options.h>

#include <string>
#include <vector>

namespace graft::plugins::electra {

/// config.json keys of an ELECTRA model (unknown HF keys are ignored when reading).
struct ElectraConfig {
  int64_t vocab_size = 30522;
  int64_t embedding_size = 128;
  int64_t hidden_size = 256;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 4;
  int64_t intermediate_size = 1024;
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

class ElectraModel : public LanguageModel {
 public:
  ElectraModel(const ElectraConfig& config, const LanguageModelContext& ctx);

  LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  std::string base_model_prefix() const override { return "electra"; }
  std::string architecture_stem() const override { return "Electra"; }
  Value hf_config() const override;
  void init_weights() override;
  /// HF ignores an unexpected `electra.embeddings_project.*` (a checkpoint whose embedding_size
  /// equals hidden_size but that still has the projection): dropped here too.
  std::string map_checkpoint_key(const std::string& key) const override;
  std::vector<std::string> ignored_checkpoint_keys() const override { return {"embeddings.position_ids"}; }

  const ElectraConfig& config() const { return config_; }

  nn::Embeddings embeddings{nullptr};
  torch::nn::Linear embeddings_project{nullptr};  ///< only when embedding_size != hidden_size
  nn::Encoder encoder{nullptr};

 private:
  ElectraConfig config_;
  Value original_config_;
};

}  // namespace graft::plugins::electra
