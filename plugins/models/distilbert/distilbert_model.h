#pragma once
// HF DistilBertModel: word + position embeddings (no token types), `transformer.layer.N` blocks
// with `attention.{q,k,v,out}_lin`, `sa_layer_norm`, `ffn.lin1/lin2`, `output_layer_norm`
// (LayerNorm eps fixed at 1e-12), no pooler. Attention is the SDK's scaled_dot_product core.
// Parameter names exactly as the HF checkpoint (no prefix; head checkpoints use "distilbert.").
#include <graft/language_model.h>
#include <graft/nn/encoder.h>
#include <graft/options.h>

#include <string>
#include <vector>

namespace graft::plugins::distilbert {

/// config.json keys of a DistilBERT model (its own names: dim, n_layers, n_heads, hidden_dim).
struct DistilBertConfig {
  int64_t vocab_size = 30522;
  int64_t max_position_embeddings = 512;
  bool sinusoidal_pos_embds = false;
  int64_t n_layers = 6;
  int64_t n_heads = 12;
  int64_t dim = 768;
  int64_t hidden_dim = 3072;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  std::string activation = "gelu";
  double initializer_range = 0.02;
  double qa_dropout = 0.1;
  double seq_classif_dropout = 0.2;
  int64_t pad_token_id = 0;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

/// `attention`: q_lin, k_lin, v_lin, out_lin.
class MultiHeadSelfAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadSelfAttentionImpl(int64_t dim, int64_t heads, double dropout);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask, bool need_probs);
  torch::nn::Linear q_lin{nullptr}, k_lin{nullptr}, v_lin{nullptr}, out_lin{nullptr};

 private:
  int64_t dim_, heads_;
  double dropout_;
};
TORCH_MODULE(MultiHeadSelfAttention);

/// `ffn`: lin1 → activation → lin2 → dropout.
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t dim, int64_t hidden_dim, double dropout, nn::Activation act);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear lin1{nullptr}, lin2{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  nn::Activation act_;
};
TORCH_MODULE(FeedForward);

/// One `transformer.layer.N` (post-LN).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  explicit TransformerBlockImpl(const DistilBertConfig& c);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask, bool need_probs);
  MultiHeadSelfAttention attention{nullptr};
  torch::nn::LayerNorm sa_layer_norm{nullptr};
  FeedForward ffn{nullptr};
  torch::nn::LayerNorm output_layer_norm{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// `transformer`: ModuleList `layer`.
class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const DistilBertConfig& c);
  torch::nn::ModuleList layer{nullptr};
  std::vector<TransformerBlock> blocks;
};
TORCH_MODULE(Transformer);

/// HF create_sinusoidal_embeddings: row p, column j = sin/cos(p / 10000^(2·⌊j/2⌋/dim)) (even j sin, odd j cos).
torch::Tensor sinusoidal_embeddings(int64_t positions, int64_t dim);

class DistilBertModel : public LanguageModel {
 public:
  DistilBertModel(const DistilBertConfig& config, const LanguageModelContext& ctx);

  /// Reads input_ids and attention_mask; token_type_ids are ignored (DistilBERT has none).
  LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) override;
  int64_t hidden_size() const override { return config_.dim; }
  std::string base_model_prefix() const override { return "distilbert"; }
  std::string architecture_stem() const override { return "DistilBert"; }
  Value hf_config() const override;
  void init_weights() override;
  /// Newer transformers releases save an `embeddings.position_ids` buffer; 4.x files have none.
  std::vector<std::string> ignored_checkpoint_keys() const override { return {"embeddings.position_ids"}; }

  const DistilBertConfig& config() const { return config_; }

  nn::Embeddings embeddings{nullptr};
  Transformer transformer{nullptr};

 private:
  DistilBertConfig config_;
  Value original_config_;
};

}  // namespace graft::plugins::distilbert
