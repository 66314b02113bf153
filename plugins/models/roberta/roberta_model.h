#pragma once
// HF RobertaModel, XLMRobertaModel and CamembertModel (one layout, three model_types): BERT's
// embeddings/encoder/pooler with position ids that start at padding_idx + 1 and skip padding
// (HF create_position_ids_from_input_ids) and a single token type. Parameter names exactly as the
// HF checkpoint (no prefix; head checkpoints store them under "roberta.").
#include <graft/language_model.h>
#include <graft/nn/encoder.h>
#include <graft/options.h>

#include <string>
#include <vector>

namespace graft::plugins::roberta {

enum class Flavour { roberta, xlm_roberta, camembert };

/// config.json keys of a RoBERTa-family model (unknown HF keys are ignored when reading).
struct RobertaConfig {
  int64_t vocab_size = 50265;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 514;
  int64_t type_vocab_size = 1;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-5;
  int64_t pad_token_id = 1;
  int64_t bos_token_id = 0;
  int64_t eos_token_id = 2;
  std::string position_embedding_type = "absolute";

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

/// The same options, one type per registry entry (the entry fixes the flavour).
template <Flavour F>
struct FlavouredConfig : RobertaConfig {
  FlavouredConfig() {
    if constexpr (F == Flavour::camembert) {
      vocab_size = 32005;
      bos_token_id = 5;
      eos_token_id = 6;
    } else if constexpr (F == Flavour::xlm_roberta) {
      vocab_size = 250002;
    }
  }
};

/// HF create_position_ids_from_input_ids: cumsum(ids != pad) * (ids != pad) + pad, so real
/// tokens get pad+1, pad+2, ... and padding tokens get pad (computed from input_ids, not the mask).
torch::Tensor roberta_position_ids(const torch::Tensor& input_ids, int64_t padding_idx);

class RobertaModel : public LanguageModel {
 public:
  RobertaModel(const RobertaConfig& config, const LanguageModelContext& ctx, Flavour flavour);

  LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  std::string base_model_prefix() const override { return "roberta"; }
  std::string architecture_stem() const override;
  Value hf_config() const override;
  void init_weights() override;
  std::vector<std::string> ignored_checkpoint_keys() const override { return {"embeddings.position_ids"}; }
  std::vector<std::string> optional_parameter_prefixes() const override { return {"pooler."}; }

  const RobertaConfig& config() const { return config_; }
  Flavour flavour() const { return flavour_; }
  std::string model_type() const;

  nn::Embeddings embeddings{nullptr};
  nn::Encoder encoder{nullptr};
  nn::Pooler pooler{nullptr};

 private:
  RobertaConfig config_;
  Flavour flavour_;
  Value original_config_;
};

template <Flavour F>
class FlavouredModel : public RobertaModel {
 public:
  FlavouredModel(const FlavouredConfig<F>& config, const LanguageModelContext& ctx) : RobertaModel(config, ctx, F) {}
};

}  // namespace graft::plugins::roberta
