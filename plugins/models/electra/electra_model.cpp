#include "electra_model.h"

#include "../common/hf_config.h"

#include <graft/error.h>

namespace graft::plugins::electra {

void ElectraConfig::visit(OptionVisitor& v) {
  v.required("vocab_size", vocab_size, "number of token ids", at_least(1));
  v.optional("embedding_size", embedding_size,
             "width of the token embeddings; projected to hidden_size by embeddings_project when different", at_least(1));
  v.required("hidden_size", hidden_size, "width of the hidden states", at_least(1));
  v.required("num_hidden_layers", num_hidden_layers, "number of encoder layers", at_least(0));
  v.required("num_attention_heads", num_attention_heads, "attention heads per layer (must divide hidden_size)", at_least(1));
  v.required("intermediate_size", intermediate_size, "width of the feed-forward layer", at_least(1));
  v.optional("hidden_act", hidden_act, "feed-forward activation", one_of(common::activation_choices()));
  v.optional("hidden_dropout_prob", hidden_dropout_prob, "dropout on embeddings and layer outputs", in_range(0.0, 1.0));
  v.optional("attention_probs_dropout_prob", attention_probs_dropout_prob, "dropout on attention probabilities",
             in_range(0.0, 1.0));
  v.optional("max_position_embeddings", max_position_embeddings, "longest sequence the position table covers", at_least(1));
  v.optional("type_vocab_size", type_vocab_size, "number of token type (segment) ids; 0 = none", at_least(0));
  v.optional("initializer_range", initializer_range, "std of the normal initialisation", at_least(0.0));
  v.optional("layer_norm_eps", layer_norm_eps, "LayerNorm epsilon", at_least(0.0));
  v.optional("pad_token_id", pad_token_id, "padding token id (its embedding row is zeroed at init)", at_least(0));
  v.optional("position_embedding_type", position_embedding_type, "only absolute positions are implemented",
             one_of({"absolute"}));
}

void ElectraConfig::check(Diagnostics& d) const {
  if (num_attention_heads > 0 && hidden_size % num_attention_heads != 0)
    d.error("num_attention_heads", cat("hidden_size ", hidden_size, " is not a multiple of num_attention_heads ",
                                       num_attention_heads));
  if (pad_token_id >= vocab_size)
    d.error("pad_token_id", cat("pad_token_id ", pad_token_id, " is outside the vocabulary (vocab_size ", vocab_size, ")"));
}

ElectraModel::ElectraModel(const ElectraConfig& c, const LanguageModelContext& ctx) : config_(c), original_config_(ctx.hf_config) {
  nn::EmbeddingsOptions eo;
  eo.vocab_size = c.vocab_size;
  eo.hidden_size = c.embedding_size;
  eo.max_position_embeddings = c.max_position_embeddings;
  eo.type_vocab_size = c.type_vocab_size;
  eo.pad_token_id = c.pad_token_id;
  eo.layer_norm_eps = c.layer_norm_eps;
  eo.dropout = c.hidden_dropout_prob;
  embeddings = register_module("embeddings", nn::Embeddings(eo));
  if (c.embedding_size != c.hidden_size)
    embeddings_project = register_module("embeddings_project", torch::nn::Linear(c.embedding_size, c.hidden_size));

  nn::EncoderLayerOptions lo;
  lo.attention.hidden_size = c.hidden_size;
  lo.attention.num_heads = c.num_attention_heads;
  lo.attention.attention_dropout = c.attention_probs_dropout_prob;
  lo.attention.hidden_dropout = c.hidden_dropout_prob;
  lo.attention.layer_norm_eps = c.layer_norm_eps;
  lo.intermediate_size = c.intermediate_size;
  lo.activation = nn::activation_from_name(c.hidden_act);
  encoder = register_module("encoder", nn::Encoder(c.num_hidden_layers, lo));
}

std::string ElectraModel::map_checkpoint_key(const std::string& key) const {
  if (!embeddings_project && key.rfind("embeddings_project.", 0) == 0) return "";
  return key;
}

LMOutput ElectraModel::forward(const Batch& batch, const ForwardOptions& options) {
  const torch::Tensor& input_ids = batch.at("input_ids");
  GRAFT_CHECK(input_ids.dim() == 2, DataError, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  GRAFT_CHECK(input_ids.size(1) <= config_.max_position_embeddings, DataError, "sequence length ", input_ids.size(1),
              " exceeds max_position_embeddings ", config_.max_position_embeddings, " of this ELECTRA model");
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask") : torch::ones_like(input_ids);
  torch::Tensor types = batch.has("token_type_ids") ? batch.at("token_type_ids") : torch::Tensor();

  torch::Tensor h = embeddings->forward(input_ids, types);
  if (embeddings_project) h = embeddings_project->forward(h);
  torch::Tensor ext = nn::extended_attention_mask(mask, h.scalar_type());
  nn::EncoderOutput enc = encoder->forward(h, ext, options.output_hidden_states, options.output_attentions);
  LMOutput out;
  out.sequence = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  out.word_embeddings = embeddings->word_embeddings->weight;
  return out;
}

Value ElectraModel::hf_config() const { return common::write_hf_config(original_config_, config_, "electra", "ElectraModel"); }

void ElectraModel::init_weights() { nn::init_bert_weights(*this, config_.initializer_range); }

}  // namespace graft::plugins::electra
