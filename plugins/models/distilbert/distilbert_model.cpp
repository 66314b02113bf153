#include "distilbert_model.h"

#include "../common/hf_config.h"

#include <graft/error.h>

#include <cmath>

namespace graft::plugins::distilbert {

namespace {
constexpr double kLayerNormEps = 1e-12;  // hard-coded in HF DistilBERT (the config has no key)

/// HF DistilBERT: 'gelu' → exact GELU, anything else → ReLU.
nn::Activation activation_of(const std::string& name) { return name == "gelu" ? nn::Activation::gelu : nn::Activation::relu; }
}  // namespace

void DistilBertConfig::visit(OptionVisitor& v) {
  v.required("vocab_size", vocab_size, "number of token ids", at_least(1));
  v.optional("max_position_embeddings", max_position_embeddings, "longest sequence the position table covers", at_least(1));
  v.optional("sinusoidal_pos_embds", sinusoidal_pos_embds,
             "fixed sinusoidal position embeddings (not trained) instead of learned ones");
  v.required("n_layers", n_layers, "number of transformer blocks", at_least(0));
  v.required("n_heads", n_heads, "attention heads per block (must divide dim)", at_least(1));
  v.required("dim", dim, "width of the hidden states", at_least(1));
  v.required("hidden_dim", hidden_dim, "width of the feed-forward layer", at_least(1));
  v.optional("dropout", dropout, "dropout on embeddings and block outputs", in_range(0.0, 1.0));
  v.optional("attention_dropout", attention_dropout, "dropout on attention probabilities", in_range(0.0, 1.0));
  v.optional("activation", activation, "feed-forward activation ('gelu' = exact GELU, 'relu')", one_of({"gelu", "relu"}));
  v.optional("initializer_range", initializer_range, "std of the normal initialisation", at_least(0.0));
  v.optional("qa_dropout", qa_dropout, "dropout before the question-answering output layer", in_range(0.0, 1.0));
  v.optional("seq_classif_dropout", seq_classif_dropout, "dropout in the sequence-classification head", in_range(0.0, 1.0));
  v.optional("pad_token_id", pad_token_id, "padding token id (its embedding row is zeroed at init)", at_least(0));
}

void DistilBertConfig::check(Diagnostics& d) const {
  if (n_heads > 0 && dim % n_heads != 0)
    d.error("n_heads", cat("dim ", dim, " is not a multiple of n_heads ", n_heads));
  if (pad_token_id >= vocab_size)
    d.error("pad_token_id", cat("pad_token_id ", pad_token_id, " is outside the vocabulary (vocab_size ", vocab_size, ")"));
}

MultiHeadSelfAttentionImpl::MultiHeadSelfAttentionImpl(int64_t dim, int64_t heads, double dropout)
    : dim_(dim), heads_(heads), dropout_(dropout) {
  GRAFT_CHECK(heads > 0 && dim % heads == 0, ConfigError, "dim (", dim, ") must be a multiple of n_heads (", heads, ")");
  q_lin = register_module("q_lin", torch::nn::Linear(dim, dim));
  k_lin = register_module("k_lin", torch::nn::Linear(dim, dim));
  v_lin = register_module("v_lin", torch::nn::Linear(dim, dim));
  out_lin = register_module("out_lin", torch::nn::Linear(dim, dim));
}

std::pair<torch::Tensor, torch::Tensor> MultiHeadSelfAttentionImpl::forward(const torch::Tensor& x,
                                                                           const torch::Tensor& additive_mask,
                                                                           bool need_probs) {
  const int64_t B = x.size(0), T = x.size(1), D = dim_ / heads_;
  auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads_, D}).permute({0, 2, 1, 3}); };
  auto [ctx, probs] = nn::scaled_dot_product(split(q_lin->forward(x)), split(k_lin->forward(x)), split(v_lin->forward(x)),
                                             additive_mask, dropout_, is_training(), need_probs);
  ctx = ctx.permute({0, 2, 1, 3}).contiguous().view({B, T, dim_});
  return {out_lin->forward(ctx), probs};
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t hidden_dim, double p, nn::Activation act) : act_(act) {
  lin1 = register_module("lin1", torch::nn::Linear(dim, hidden_dim));
  lin2 = register_module("lin2", torch::nn::Linear(hidden_dim, dim));
  dropout = register_module("dropout", torch::nn::Dropout(p));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  return dropout->forward(lin2->forward(nn::apply_activation(act_, lin1->forward(x))));
}

TransformerBlockImpl::TransformerBlockImpl(const DistilBertConfig& c) {
  attention = register_module("attention", MultiHeadSelfAttention(c.dim, c.n_heads, c.attention_dropout));
  sa_layer_norm = register_module("sa_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(kLayerNormEps)));
  ffn = register_module("ffn", FeedForward(c.dim, c.hidden_dim, c.dropout, activation_of(c.activation)));
  output_layer_norm =
      register_module("output_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(kLayerNormEps)));
}

std::pair<torch::Tensor, torch::Tensor> TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                                     bool need_probs) {
  auto [sa, probs] = attention->forward(x, additive_mask, need_probs);
  auto h = sa_layer_norm->forward(sa + x);
  return {output_layer_norm->forward(ffn->forward(h) + h), probs};
}

TransformerImpl::TransformerImpl(const DistilBertConfig& c) {
  GRAFT_CHECK(c.n_layers >= 0, ConfigError, "n_layers must be >= 0, got ", c.n_layers);
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layers; ++i) {
    blocks.push_back(TransformerBlock(c));
    layer->push_back(blocks.back());
  }
}

torch::Tensor sinusoidal_embeddings(int64_t positions, int64_t dim) {
  auto pos = torch::arange(positions, torch::kFloat64).unsqueeze(1);
  auto j = torch::arange(dim, torch::kFloat64);
  auto angle = pos / torch::pow(10000.0, 2.0 * torch::floor(j / 2.0) / static_cast<double>(dim)).unsqueeze(0);
  auto out = torch::empty({positions, dim}, torch::kFloat64);
  using torch::indexing::Slice;
  out.index_put_({Slice(), Slice(0, torch::indexing::None, 2)}, torch::sin(angle.index({Slice(), Slice(0, torch::indexing::None, 2)})));
  out.index_put_({Slice(), Slice(1, torch::indexing::None, 2)}, torch::cos(angle.index({Slice(), Slice(1, torch::indexing::None, 2)})));
  return out.to(torch::kFloat32);
}

DistilBertModel::DistilBertModel(const DistilBertConfig& c, const LanguageModelContext& ctx)
    : config_(c), original_config_(ctx.hf_config) {
  nn::EmbeddingsOptions eo;
  eo.vocab_size = c.vocab_size;
  eo.hidden_size = c.dim;
  eo.max_position_embeddings = c.max_position_embeddings;
  eo.type_vocab_size = 0;
  eo.pad_token_id = c.pad_token_id;
  eo.layer_norm_eps = kLayerNormEps;
  eo.dropout = c.dropout;
  embeddings = register_module("embeddings", nn::Embeddings(eo));
  transformer = register_module("transformer", Transformer(c));
  if (c.sinusoidal_pos_embds) {
    torch::NoGradGuard ng;
    embeddings->position_embeddings->weight.copy_(sinusoidal_embeddings(c.max_position_embeddings, c.dim));
    embeddings->position_embeddings->weight.set_requires_grad(false);
  }
}

LMOutput DistilBertModel::forward(const Batch& batch, const ForwardOptions& options) {
  const torch::Tensor& input_ids = batch.at("input_ids");
  GRAFT_CHECK(input_ids.dim() == 2, DataError, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  GRAFT_CHECK(input_ids.size(1) <= config_.max_position_embeddings, DataError, "sequence length ", input_ids.size(1),
              " exceeds max_position_embeddings ", config_.max_position_embeddings, " of this DistilBERT model");
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask") : torch::ones_like(input_ids);

  torch::Tensor h = embeddings->forward(input_ids);
  // HF masks with masked_fill(-inf); the finite −10000 gives the same probabilities (masked keys
  // get exactly 0) and keeps a row whose keys are all masked finite instead of NaN.
  torch::Tensor ext = nn::extended_attention_mask(mask, h.scalar_type());
  LMOutput out;
  for (auto& block : transformer->blocks) {
    if (options.output_hidden_states) out.hidden_states.push_back(h);
    auto [next, probs] = block->forward(h, ext, options.output_attentions);
    if (options.output_attentions) out.attentions.push_back(probs);
    h = next;
  }
  if (options.output_hidden_states) out.hidden_states.push_back(h);
  out.sequence = h;
  out.word_embeddings = embeddings->word_embeddings->weight;
  return out;
}

Value DistilBertModel::hf_config() const {
  return common::write_hf_config(original_config_, config_, "distilbert", "DistilBertModel");
}

void DistilBertModel::init_weights() {
  nn::init_bert_weights(*this, config_.initializer_range);
  if (config_.sinusoidal_pos_embds) {
    torch::NoGradGuard ng;
    embeddings->position_embeddings->weight.copy_(sinusoidal_embeddings(config_.max_position_embeddings, config_.dim));
  }
}

}  // namespace graft::plugins::distilbert
