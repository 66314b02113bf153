#pragma once
// Embeddings, feed-forward, post-LN encoder layer, layer stack and pooler with HF parameter
// names (BertEmbeddings, BertIntermediate, BertOutput, BertLayer, BertEncoder, BertPooler),
// plus HF's weight initialisation. Families compose these and keep HF checkpoint names.
#include <graft/export.h>
#include <graft/nn/activations.h>
#include <graft/nn/attention.h>

#include <torch/torch.h>

#include <vector>

namespace graft::nn {

struct EmbeddingsOptions {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;  ///< width of the embeddings (ELECTRA/ALBERT: embedding_size)
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;  ///< 0 = no token_type_embeddings
  int64_t pad_token_id = 0;     ///< padding_idx of word_embeddings (its row is zeroed by init)
  double layer_norm_eps = 1e-12;
  double dropout = 0.1;
};

/// HF BertEmbeddings: `word_embeddings`, `position_embeddings`, `token_type_embeddings`,
/// `LayerNorm`. The sum is normalised, then dropout.
class GRAFT_SDK_API EmbeddingsImpl : public torch::nn::Module {
 public:
  explicit EmbeddingsImpl(const EmbeddingsOptions& options);
  /// input_ids [B, T]; token_type_ids / position_ids undefined → zeros / arange(T).
  /// DataError-free: a T beyond max_position_embeddings throws graft::Error naming both.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids = {},
                        const torch::Tensor& position_ids = {});
  const EmbeddingsOptions& options() const { return options_; }
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};

 private:
  EmbeddingsOptions options_;
};
TORCH_MODULE(Embeddings);

/// HF BertIntermediate: `dense` then the activation.
class GRAFT_SDK_API IntermediateImpl : public torch::nn::Module {
 public:
  IntermediateImpl(int64_t hidden_size, int64_t intermediate_size, Activation act);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear dense{nullptr};

 private:
  Activation act_;
};
TORCH_MODULE(Intermediate);

struct EncoderLayerOptions {
  AttentionOptions attention;
  int64_t intermediate_size = 3072;
  Activation activation = Activation::gelu;
};

/// HF BertLayer (post-LN): `attention` (self + output), `intermediate`, `output`.
class GRAFT_SDK_API EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(const EncoderLayerOptions& options);
  /// Returns the layer output and (when `need_probs`) the attention probabilities.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                  bool need_probs);
  Attention attention{nullptr};
  Intermediate intermediate{nullptr};
  ResidualOutput output{nullptr};
};
TORCH_MODULE(EncoderLayer);

struct EncoderOutput {
  torch::Tensor last_hidden_state;
  std::vector<torch::Tensor> hidden_states;  ///< input + every layer output, when requested
  std::vector<torch::Tensor> attentions;     ///< per layer, when requested
};

/// HF BertEncoder: ModuleList `layer` of EncoderLayers.
class GRAFT_SDK_API EncoderImpl : public torch::nn::Module {
 public:
  EncoderImpl(int64_t num_layers, const EncoderLayerOptions& options);
  EncoderOutput forward(const torch::Tensor& x, const torch::Tensor& additive_mask, bool output_hidden_states,
                        bool output_attentions);
  size_t num_layers() const { return layers_.size(); }
  EncoderLayer layer_at(size_t i) const { return layers_.at(i); }
  torch::nn::ModuleList layer{nullptr};

 private:
  std::vector<EncoderLayer> layers_;
};
TORCH_MODULE(Encoder);

/// HF BertPooler: tanh(dense(h[:, 0])).
class GRAFT_SDK_API PoolerImpl : public torch::nn::Module {
 public:
  explicit PoolerImpl(int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& sequence);
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(Pooler);

/// HF `_init_weights` for BERT-like models, applied to every submodule of `module`:
/// Linear weight ~ N(0, std), bias 0; Embedding ~ N(0, std) with its padding_idx row zeroed;
/// LayerNorm weight 1, bias 0.
GRAFT_SDK_API void init_bert_weights(torch::nn::Module& module, double std);

}  // namespace graft::nn
