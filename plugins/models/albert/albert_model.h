#pragma once
// HF AlbertModel: factorized embeddings (embedding_size wide) + `encoder.embedding_hidden_mapping_in`,
// cross-layer parameter sharing (`encoder.albert_layer_groups.G.albert_layers.I.*`: layer i runs
// group ⌊i / (num_hidden_layers / num_hidden_groups)⌋, each group applies its inner_group_num
// layers), and the pooler `pooler` (Linear) + tanh. Attention is the SDK's scaled_dot_product
// core. Parameter names exactly as the HF checkpoint (no prefix; head checkpoints use "albert.").
#include <graft/language_model.h>
#include <graft/nn/encoder.h>
#include <graft/options.h>

#include <string>
#include <vector>

namespace graft::plugins::albert {

/// config.json keys of an ALBERT model (unknown HF keys are ignored when reading).
struct AlbertConfig {
  int64_t vocab_size = 30000;
  int64_t embedding_size = 128;
  int64_t hidden_size = 4096;
  int64_t num_hidden_layers = 12;
  int64_t num_hidden_groups = 1;
  int64_t num_attention_heads = 64;
  int64_t intermediate_size = 16384;
  int64_t inner_group_num = 1;
  std::string hidden_act = "gelu_new";
  double hidden_dropout_prob = 0.0;
  double attention_probs_dropout_prob = 0.0;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  double classifier_dropout_prob = 0.1;
  int64_t pad_token_id = 0;
  int64_t bos_token_id = 2;
  int64_t eos_token_id = 3;
  std::string position_embedding_type = "absolute";

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

/// `attention`: query, key, value, dense, LayerNorm (HF AlbertAttention).
class AlbertAttentionImpl : public torch::nn::Module {
 public:
  explicit AlbertAttentionImpl(const AlbertConfig& c);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask, bool need_probs);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout output_dropout{nullptr};

 private:
  int64_t hidden_, heads_;
  double attention_dropout_;
};
TORCH_MODULE(AlbertAttention);

/// `albert_layers.I`: attention, ffn, ffn_output, full_layer_layer_norm (HF AlbertLayer).
class AlbertLayerImpl : public torch::nn::Module {
 public:
  explicit AlbertLayerImpl(const AlbertConfig& c);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask, bool need_probs);
  torch::nn::LayerNorm full_layer_layer_norm{nullptr};
  AlbertAttention attention{nullptr};
  torch::nn::Linear ffn{nullptr}, ffn_output{nullptr};

 private:
  nn::Activation act_;
};
TORCH_MODULE(AlbertLayer);

/// `albert_layer_groups.G`: ModuleList `albert_layers` of inner_group_num layers.
class AlbertLayerGroupImpl : public torch::nn::Module {
 public:
  explicit AlbertLayerGroupImpl(const AlbertConfig& c);
  torch::nn::ModuleList albert_layers{nullptr};
  std::vector<AlbertLayer> layers;
};
TORCH_MODULE(AlbertLayerGroup);

/// `encoder`: embedding_hidden_mapping_in + albert_layer_groups.
class AlbertTransformerImpl : public torch::nn::Module {
 public:
  explicit AlbertTransformerImpl(const AlbertConfig& c);
  torch::nn::Linear embedding_hidden_mapping_in{nullptr};
  torch::nn::ModuleList albert_layer_groups{nullptr};
  std::vector<AlbertLayerGroup> groups;
};
TORCH_MODULE(AlbertTransformer);

class AlbertModel : public LanguageModel {
 public:
  AlbertModel(const AlbertConfig& config, const LanguageModelContext& ctx);

  LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  std::string base_model_prefix() const override { return "albert"; }
  std::string architecture_stem() const override { return "Albert"; }
  Value hf_config() const override;
  void init_weights() override;
  std::vector<std::string> ignored_checkpoint_keys() const override { return {"embeddings.position_ids"}; }
  std::vector<std::string> optional_parameter_prefixes() const override { return {"pooler."}; }

  /// The group run by layer i (HF: int(i / (num_hidden_layers / num_hidden_groups))).
  int64_t group_of_layer(int64_t i) const;
  const AlbertConfig& config() const { return config_; }

  nn::Embeddings embeddings{nullptr};
  AlbertTransformer encoder{nullptr};
  torch::nn::Linear pooler{nullptr};

 private:
  AlbertConfig config_;
  Value original_config_;
};

}  // namespace graft::plugins::albert
