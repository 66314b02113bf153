#pragma once
// Multi-head self-attention with HF 4.x semantics: scores = q·kᵀ/√d + (1 − mask)·−10000,
// softmax, dropout, ·v. Parameter names are HF's: `query`, `key`, `value` (BertSelfAttention)
// and `dense`, `LayerNorm` (BertSelfOutput), grouped as `self` / `output` in `Attention`.
//
// Where LibTorch has a fused kernel (at::scaled_dot_product_attention, LibTorch >= 2.0) it is
// used when attention probabilities are not requested; otherwise the explicit computation runs.
#include <graft/export.h>

#include <torch/torch.h>

#include <utility>

namespace graft::nn {

/// [B, T] 0/1 (any integer or float dtype) → additive [B, 1, 1, T] mask in `dtype`:
/// (1 − mask) · −10000 (HF's "extended attention mask"; finite, so fully masked rows stay uniform).
GRAFT_SDK_API torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype);

/// The functional core, for families with their own projections. q, k, v: [B, heads, T, d].
/// `additive_mask` broadcastable to [B, heads, T, T] (or undefined). Returns the context
/// [B, heads, T, d] and, when `need_probs`, the probabilities [B, heads, T, T] (after softmax,
/// before dropout — HF returns them before dropout too).
GRAFT_SDK_API std::pair<torch::Tensor, torch::Tensor> scaled_dot_product(const torch::Tensor& q, const torch::Tensor& k,
                                                                        const torch::Tensor& v,
                                                                        const torch::Tensor& additive_mask,
                                                                        double dropout_p, bool training, bool need_probs);

/// True when this build uses a fused attention kernel for calls without `need_probs`.
GRAFT_SDK_API bool fused_attention_available();

struct AttentionOptions {
  int64_t hidden_size = 768;
  int64_t num_heads = 12;
  double attention_dropout = 0.1;  ///< on the probabilities
  double hidden_dropout = 0.1;     ///< on the output projection
  double layer_norm_eps = 1e-12;
};

/// HF BertSelfAttention: `query`, `key`, `value` Linear layers.
class GRAFT_SDK_API SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionImpl(const AttentionOptions& options);
  /// x [B, T, H], additive mask [B, 1, 1, T] or undefined → context [B, T, H], probs or undefined.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                  bool need_probs);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};

 private:
  AttentionOptions options_;
};
TORCH_MODULE(SelfAttention);

/// HF BertSelfOutput / BertOutput: LayerNorm(dropout(dense(x)) + residual), names `dense`, `LayerNorm`.
class GRAFT_SDK_API ResidualOutputImpl : public torch::nn::Module {
 public:
  ResidualOutputImpl(int64_t in_features, int64_t hidden_size, double dropout, double layer_norm_eps);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ResidualOutput);

/// HF BertAttention: `self` (SelfAttention) + `output` (ResidualOutput).
class GRAFT_SDK_API AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                  bool need_probs);
  SelfAttention self{nullptr};
  ResidualOutput output{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace graft::nn
