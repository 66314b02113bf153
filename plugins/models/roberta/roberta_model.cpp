#include "roberta_model.h"

#include "../common/hf_config.h"

#include <graft/error.h>

namespace graft::plugins::roberta {

void RobertaConfig::visit(OptionVisitor& v) {
  v.required("vocab_size", vocab_size, "number of token ids", at_least(1));
  v.required("hidden_size", hidden_size, "width of the hidden states", at_least(1));
  v.required("num_hidden_layers", num_hidden_layers, "number of encoder layers", at_least(0));
  v.required("num_attention_heads", num_attention_heads, "attention heads per layer (must divide hidden_size)", at_least(1));
  v.required("intermediate_size", intermediate_size, "width of the feed-forward layer", at_least(1));
  v.optional("hidden_act", hidden_act, "feed-forward activation", one_of(common::activation_choices()));
  v.optional("hidden_dropout_prob", hidden_dropout_prob, "dropout on embeddings and layer outputs", in_range(0.0, 1.0));
  v.optional("attention_probs_dropout_prob", attention_probs_dropout_prob, "dropout on attention probabilities",
             in_range(0.0, 1.0));
  v.optional("max_position_embeddings", max_position_embeddings,
             "rows of the position table; positions start at pad_token_id + 1, so a model for 512 tokens has 514",
             at_least(1));
  v.optional("type_vocab_size", type_vocab_size, "number of token type ids (1 for RoBERTa checkpoints)", at_least(0));
  v.optional("initializer_range", initializer_range, "std of the normal initialisation", at_least(0.0));
  v.optional("layer_norm_eps", layer_norm_eps, "LayerNorm epsilon", at_least(0.0));
  v.optional("pad_token_id", pad_token_id, "padding token id (also the position-id offset)", at_least(0));
  v.optional("bos_token_id", bos_token_id, "<s> token id (kept in config.json)", at_least(0));
  v.optional("eos_token_id", eos_token_id, "</s> token id (kept in config.json)", at_least(0));
  v.optional("position_embedding_type", position_embedding_type, "only absolute positions are implemented",
             one_of({"absolute"}));
}

void RobertaConfig::check(Diagnostics& d) const {
  if (num_attention_heads > 0 && hidden_size % num_attention_heads != 0)
    d.error("num_attention_heads", cat("hidden_size ", hidden_size, " is not a multiple of num_attention_heads ",
                                       num_attention_heads));
  if (pad_token_id >= vocab_size)
    d.error("pad_token_id", cat("pad_token_id ", pad_token_id, " is outside the vocabulary (vocab_size ", vocab_size, ")"));
  if (pad_token_id + 1 >= max_position_embeddings)
    d.error("max_position_embeddings", cat("max_position_embeddings ", max_position_embeddings,
                                           " leaves no position for a token: positions start at pad_token_id + 1 = ",
                                           pad_token_id + 1));
}

torch::Tensor roberta_position_ids(const torch::Tensor& input_ids, int64_t padding_idx) {
  auto mask = input_ids.ne(padding_idx).to(torch::kLong);
  return torch::cumsum(mask, 1) * mask + padding_idx;
}

RobertaModel::RobertaModel(const RobertaConfig& c, const LanguageModelContext& ctx, Flavour flavour)
    : config_(c), flavour_(flavour), original_config_(ctx.hf_config) {
  nn::EmbeddingsOptions eo;
  eo.vocab_size = c.vocab_size;
  eo.hidden_size = c.hidden_size;
  eo.max_position_embeddings = c.max_position_embeddings;
  eo.type_vocab_size = c.type_vocab_size;
  eo.pad_token_id = c.pad_token_id;
  eo.layer_norm_eps = c.layer_norm_eps;
  eo.dropout = c.hidden_dropout_prob;
  embeddings = register_module("embeddings", nn::Embeddings(eo));

  nn::EncoderLayerOptions lo;
  lo.attention.hidden_size = c.hidden_size;
  lo.attention.num_heads = c.num_attention_heads;
  lo.attention.attention_dropout = c.attention_probs_dropout_prob;
  lo.attention.hidden_dropout = c.hidden_dropout_prob;
  lo.attention.layer_norm_eps = c.layer_norm_eps;
  lo.intermediate_size = c.intermediate_size;
  lo.activation = nn::activation_from_name(c.hidden_act);
  encoder = register_module("encoder", nn::Encoder(c.num_hidden_layers, lo));
  pooler = register_module("pooler", nn::Pooler(c.hidden_size));
}

std::string RobertaModel::model_type() const {
  switch (flavour_) {
    case Flavour::xlm_roberta: return "xlm-roberta";
    case Flavour::camembert: return "camembert";
    case Flavour::roberta: break;
  }
  return "roberta";
}

std::string RobertaModel::architecture_stem() const {
  switch (flavour_) {
    case Flavour::xlm_roberta: return "XLMRoberta";
    case Flavour::camembert: return "Camembert";
    case Flavour::roberta: break;
  }
  return "Roberta";
}

LMOutput RobertaModel::forward(const Batch& batch, const ForwardOptions& options) {
  const torch::Tensor& input_ids = batch.at("input_ids");
  GRAFT_CHECK(input_ids.dim() == 2, DataError, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  const int64_t T = input_ids.size(1);
  GRAFT_CHECK(config_.pad_token_id + T < config_.max_position_embeddings, DataError, "sequence length ", T,
              " needs position ids up to ", config_.pad_token_id + T, " but this ", architecture_stem(),
              " model has max_position_embeddings ", config_.max_position_embeddings, " (positions start at pad_token_id + 1 = ",
              config_.pad_token_id + 1, "); truncate to at most ", config_.max_position_embeddings - config_.pad_token_id - 1,
              " tokens");
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask") : torch::ones_like(input_ids);
  torch::Tensor types = batch.has("token_type_ids") ? batch.at("token_type_ids") : torch::Tensor();
  if (types.defined() && config_.type_vocab_size > 0) {
    GRAFT_CHECK(types.numel() == 0 || types.max().item<int64_t>() < config_.type_vocab_size, DataError,
                "token_type_ids contain ", types.max().item<int64_t>(), " but this ", architecture_stem(),
                " model has type_vocab_size ", config_.type_vocab_size, " (RoBERTa-style pairs use all-zero token types)");
  }
  torch::Tensor positions = roberta_position_ids(input_ids, config_.pad_token_id);

  torch::Tensor h = embeddings->forward(input_ids, types, positions);
  torch::Tensor ext = nn::extended_attention_mask(mask, h.scalar_type());
  nn::EncoderOutput enc = encoder->forward(h, ext, options.output_hidden_states, options.output_attentions);
  LMOutput out;
  out.sequence = enc.last_hidden_state;
  out.pooled = pooler->forward(enc.last_hidden_state);
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  out.word_embeddings = embeddings->word_embeddings->weight;
  return out;
}

Value RobertaModel::hf_config() const {
  return common::write_hf_config(original_config_, config_, model_type(), architecture_stem() + "Model");
}

void RobertaModel::init_weights() { nn::init_bert_weights(*this, config_.initializer_range); }

}  // namespace graft::plugins::roberta
