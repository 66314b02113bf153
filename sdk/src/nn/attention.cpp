#include <graft/error.h>
#include <graft/nn/attention.h>

#include <torch/version.h>

#include <cmath>

namespace graft::nn {

torch::Tensor extended_attention_mask(const torch::Tensor& attention_mask, torch::ScalarType dtype) {
  GRAFT_CHECK(attention_mask.dim() == 2, Error, "attention_mask must be [batch, seq_len], got ", attention_mask.sizes());
  auto m = attention_mask.to(dtype).unsqueeze(1).unsqueeze(2);
  return (1.0 - m) * -10000.0;
}

bool fused_attention_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

std::pair<torch::Tensor, torch::Tensor> scaled_dot_product(const torch::Tensor& q, const torch::Tensor& k,
                                                          const torch::Tensor& v, const torch::Tensor& additive_mask,
                                                          double dropout_p, bool training, bool need_probs) {
#if TORCH_VERSION_MAJOR >= 2
  if (!need_probs) {
    c10::optional<at::Tensor> mask;
    if (additive_mask.defined()) mask = additive_mask.to(q.scalar_type());
    auto ctx = at::scaled_dot_product_attention(q, k, v, mask, training ? dropout_p : 0.0, false);
    return {ctx, torch::Tensor()};
  }
#endif
  // Explicit path (LibTorch 1.x, or when the probabilities are wanted). LibTorch 1.13's
  // at::_scaled_dot_product_attention is a composite of the same matmul/softmax ops on CPU (no
  // fused kernel), so it gains nothing. One baddbmm computes scale·q·kᵀ + mask in the GEMM itself
  // (no separate passes over the [B·heads, T, T] scores for the division and the mask), with the
  // mask broadcast as [B·heads, 1 or Tq, Tk] rather than expanded to full size. Measured with
  // bench_attention (docs/performance.md).
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2), D = q.size(3), Dv = v.size(3);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  auto q3 = q.reshape({B * H, Tq, D});
  auto kt = k.reshape({B * H, Tk, D}).transpose(1, 2);
  torch::Tensor scores;
  if (additive_mask.defined()) {
    auto m = additive_mask;
    while (m.dim() < 4) m = m.unsqueeze(0);
    GRAFT_CHECK(m.dim() == 4 && (m.size(0) == 1 || m.size(0) == B) && (m.size(1) == 1 || m.size(1) == H) &&
                    (m.size(2) == 1 || m.size(2) == Tq) && m.size(3) == Tk,
                Error, "attention mask of shape ", additive_mask.sizes(), " does not broadcast to the scores [", B, ", ", H,
                ", ", Tq, ", ", Tk, "]");
    const int64_t mq = m.size(2);
    m = m.to(q.scalar_type()).expand({B, H, mq, Tk}).reshape({B * H, mq, Tk});
    scores = torch::baddbmm(m, q3, kt, /*beta=*/1.0, /*alpha=*/scale);
  } else {
    scores = torch::bmm(q3, kt).mul_(scale);
  }
  auto probs = torch::softmax(scores, -1);
  auto dropped = (training && dropout_p > 0) ? torch::dropout(probs, dropout_p, true) : probs;
  auto ctx = torch::bmm(dropped, v.reshape({B * H, Tk, Dv})).view({B, H, Tq, Dv});
  return {ctx, need_probs ? probs.view({B, H, Tq, Tk}) : torch::Tensor()};
}

SelfAttentionImpl::SelfAttentionImpl(const AttentionOptions& options) : options_(options) {
  GRAFT_CHECK(options.num_heads > 0 && options.hidden_size % options.num_heads == 0, ConfigError,
              "hidden_size (", options.hidden_size, ") must be a multiple of num_attention_heads (", options.num_heads, ")");
  query = register_module("query", torch::nn::Linear(options.hidden_size, options.hidden_size));
  key = register_module("key", torch::nn::Linear(options.hidden_size, options.hidden_size));
  value = register_module("value", torch::nn::Linear(options.hidden_size, options.hidden_size));
}

std::pair<torch::Tensor, torch::Tensor> SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                                  bool need_probs) {
  const int64_t B = x.size(0), T = x.size(1), H = options_.num_heads, D = options_.hidden_size / H;
  auto split = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).permute({0, 2, 1, 3}); };
  auto q = split(query->forward(x));
  auto k = split(key->forward(x));
  auto v = split(value->forward(x));
  auto [ctx, probs] = scaled_dot_product(q, k, v, additive_mask, options_.attention_dropout, is_training(), need_probs);
  ctx = ctx.permute({0, 2, 1, 3}).contiguous().view({B, T, options_.hidden_size});
  return {ctx, probs};
}

ResidualOutputImpl::ResidualOutputImpl(int64_t in_features, int64_t hidden_size, double p, double layer_norm_eps) {
  dense = register_module("dense", torch::nn::Linear(in_features, hidden_size));
  LayerNorm = register_module("LayerNorm",
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_size}).eps(layer_norm_eps)));
  dropout = register_module("dropout", torch::nn::Dropout(p));
}

torch::Tensor ResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm->forward(dropout->forward(dense->forward(x)) + residual);
}

AttentionImpl::AttentionImpl(const AttentionOptions& options) {
  self = register_module("self", SelfAttention(options));
  output = register_module("output", ResidualOutput(options.hidden_size, options.hidden_size, options.hidden_dropout,
                                                    options.layer_norm_eps));
}

std::pair<torch::Tensor, torch::Tensor> AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                              bool need_probs) {
  auto [ctx, probs] = self->forward(x, additive_mask, need_probs);
  return {output->forward(ctx, x), probs};
}

}  // namespace graft::nn
