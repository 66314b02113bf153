#include "albert_model.h"

#include "../common/hf_config.h"

#include <graft/error.h>

namespace graft::plugins::albert {

void AlbertConfig::visit(OptionVisitor& v) {
  v.required("vocab_size", vocab_size, "number of token ids", at_least(1));
  v.optional("embedding_size", embedding_size, "width of the token embeddings (mapped to hidden_size)", at_least(1));
  v.required("hidden_size", hidden_size, "width of the hidden states", at_least(1));
  v.required("num_hidden_layers", num_hidden_layers, "number of layer applications", at_least(0));
  v.optional("num_hidden_groups", num_hidden_groups, "number of distinct parameter groups the layers share", at_least(1));
  v.required("num_attention_heads", num_attention_heads, "attention heads per layer (must divide hidden_size)", at_least(1));
  v.required("intermediate_size", intermediate_size, "width of the feed-forward layer", at_least(1));
  v.optional("inner_group_num", inner_group_num, "layers inside each group, applied in sequence", at_least(1));
  v.optional("hidden_act", hidden_act, "feed-forward activation", one_of(common::activation_choices()));
  v.optional("hidden_dropout_prob", hidden_dropout_prob, "dropout on embeddings and layer outputs", in_range(0.0, 1.0));
  v.optional("attention_probs_dropout_prob", attention_probs_dropout_prob, "dropout on attention probabilities",
             in_range(0.0, 1.0));
  v.optional("max_position_embeddings", max_position_embeddings, "longest sequence the position table covers", at_least(1));
  v.optional("type_vocab_size", type_vocab_size, "number of token type (segment) ids; 0 = none", at_least(0));
  v.optional("initializer_range", initializer_range, "std of the normal initialisation", at_least(0.0));
  v.optional("layer_norm_eps", layer_norm_eps, "LayerNorm epsilon", at_least(0.0));
  v.optional("classifier_dropout_prob", classifier_dropout_prob, "dropout in the classification heads", in_range(0.0, 1.0));
  v.optional("pad_token_id", pad_token_id, "padding token id (its embedding row is zeroed at init)", at_least(0));
  v.optional("bos_token_id", bos_token_id, "[CLS] token id (kept in config.json)", at_least(0));
  v.optional("eos_token_id", eos_token_id, "[SEP] token id (kept in config.json)", at_least(0));
  v.optional("position_embedding_type", position_embedding_type, "only absolute positions are implemented",
             one_of({"absolute"}));
}

void AlbertConfig::check(Diagnostics& d) const {
  if (num_attention_heads > 0 && hidden_size % num_attention_heads != 0)
    d.error("num_attention_heads", cat("hidden_size ", hidden_size, " is not a multiple of num_attention_heads ",
                                       num_attention_heads));
  if (pad_token_id >= vocab_size)
    d.error("pad_token_id", cat("pad_token_id ", pad_token_id, " is outside the vocabulary (vocab_size ", vocab_size, ")"));
}

AlbertAttentionImpl::AlbertAttentionImpl(const AlbertConfig& c)
    : hidden_(c.hidden_size), heads_(c.num_attention_heads), attention_dropout_(c.attention_probs_dropout_prob) {
  GRAFT_CHECK(heads_ > 0 && hidden_ % heads_ == 0, ConfigError, "hidden_size (", hidden_,
              ") must be a multiple of num_attention_heads (", heads_, ")");
  query = register_module("query", torch::nn::Linear(hidden_, hidden_));
  key = register_module("key", torch::nn::Linear(hidden_, hidden_));
  value = register_module("value", torch::nn::Linear(hidden_, hidden_));
  dense = register_module("dense", torch::nn::Linear(hidden_, hidden_));
  LayerNorm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_}).eps(c.layer_norm_eps)));
  output_dropout = register_module("output_dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

std::pair<torch::Tensor, torch::Tensor> AlbertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                                    bool need_probs) {
  const int64_t B = x.size(0), T = x.size(1), D = hidden_ / heads_;
  auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads_, D}).permute({0, 2, 1, 3}); };
  auto [ctx, probs] = nn::scaled_dot_product(split(query->forward(x)), split(key->forward(x)), split(value->forward(x)),
                                             additive_mask, attention_dropout_, is_training(), need_probs);
  ctx = ctx.permute({0, 2, 1, 3}).contiguous().view({B, T, hidden_});
  return {LayerNorm->forward(x + output_dropout->forward(dense->forward(ctx))), probs};
}

AlbertLayerImpl::AlbertLayerImpl(const AlbertConfig& c) : act_(nn::activation_from_name(c.hidden_act)) {
  full_layer_layer_norm = register_module(
      "full_layer_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  attention = register_module("attention", AlbertAttention(c));
  ffn = register_module("ffn", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  ffn_output = register_module("ffn_output", torch::nn::Linear(c.intermediate_size, c.hidden_size));
}

std::pair<torch::Tensor, torch::Tensor> AlbertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                                bool need_probs) {
  auto [a, probs] = attention->forward(x, additive_mask, need_probs);
  // HF AlbertLayer: full_layer_layer_norm(ffn_output(act(ffn(a))) + a) — no dropout on this branch.
  auto f = ffn_output->forward(nn::apply_activation(act_, ffn->forward(a)));
  return {full_layer_layer_norm->forward(f + a), probs};
}

AlbertLayerGroupImpl::AlbertLayerGroupImpl(const AlbertConfig& c) {
  albert_layers = register_module("albert_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.inner_group_num; ++i) {
    layers.push_back(AlbertLayer(c));
    albert_layers->push_back(layers.back());
  }
}

AlbertTransformerImpl::AlbertTransformerImpl(const AlbertConfig& c) {
  embedding_hidden_mapping_in = register_module("embedding_hidden_mapping_in", torch::nn::Linear(c.embedding_size, c.hidden_size));
  albert_layer_groups = register_module("albert_layer_groups", torch::nn::ModuleList());
  for (int64_t g = 0; g < c.num_hidden_groups; ++g) {
    groups.push_back(AlbertLayerGroup(c));
    albert_layer_groups->push_back(groups.back());
  }
}

AlbertModel::AlbertModel(const AlbertConfig& c, const LanguageModelContext& ctx) : config_(c), original_config_(ctx.hf_config) {
  GRAFT_CHECK(c.num_hidden_groups >= 1 && c.inner_group_num >= 1, ConfigError,
              "ALBERT needs num_hidden_groups >= 1 and inner_group_num >= 1 (got ", c.num_hidden_groups, ", ",
              c.inner_group_num, ")");
  nn::EmbeddingsOptions eo;
  eo.vocab_size = c.vocab_size;
  eo.hidden_size = c.embedding_size;
  eo.max_position_embeddings = c.max_position_embeddings;
  eo.type_vocab_size = c.type_vocab_size;
  eo.pad_token_id = c.pad_token_id;
  eo.layer_norm_eps = c.layer_norm_eps;
  eo.dropout = c.hidden_dropout_prob;
  embeddings = register_module("embeddings", nn::Embeddings(eo));
  encoder = register_module("encoder", AlbertTransformer(c));
  pooler = register_module("pooler", torch::nn::Linear(c.hidden_size, c.hidden_size));
}

int64_t AlbertModel::group_of_layer(int64_t i) const {
  // Python: int(i / (num_hidden_layers / num_hidden_groups)) in floating point.
  const double per_group = static_cast<double>(config_.num_hidden_layers) / static_cast<double>(config_.num_hidden_groups);
  auto g = static_cast<int64_t>(static_cast<double>(i) / per_group);
  return std::min<int64_t>(g, config_.num_hidden_groups - 1);
}

LMOutput AlbertModel::forward(const Batch& batch, const ForwardOptions& options) {
  const torch::Tensor& input_ids = batch.at("input_ids");
  GRAFT_CHECK(input_ids.dim() == 2, DataError, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  GRAFT_CHECK(input_ids.size(1) <= config_.max_position_embeddings, DataError, "sequence length ", input_ids.size(1),
              " exceeds max_position_embeddings ", config_.max_position_embeddings, " of this ALBERT model");
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask") : torch::ones_like(input_ids);
  torch::Tensor types = batch.has("token_type_ids") ? batch.at("token_type_ids") : torch::Tensor();

  torch::Tensor h = encoder->embedding_hidden_mapping_in->forward(embeddings->forward(input_ids, types));
  torch::Tensor ext = nn::extended_attention_mask(mask, h.scalar_type());
  LMOutput out;
  if (options.output_hidden_states) out.hidden_states.push_back(h);
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    for (auto& layer : encoder->groups.at(static_cast<size_t>(group_of_layer(i)))->layers) {
      auto [next, probs] = layer->forward(h, ext, options.output_attentions);
      if (options.output_attentions) out.attentions.push_back(probs);
      h = next;
    }
    if (options.output_hidden_states) out.hidden_states.push_back(h);
  }
  out.sequence = h;
  using torch::indexing::Slice;
  out.pooled = torch::tanh(pooler->forward(h.index({Slice(), 0})));
  out.word_embeddings = embeddings->word_embeddings->weight;
  return out;
}

Value AlbertModel::hf_config() const { return common::write_hf_config(original_config_, config_, "albert", "AlbertModel"); }

void AlbertModel::init_weights() { nn::init_bert_weights(*this, config_.initializer_range); }

}  // namespace graft::plugins::albert
