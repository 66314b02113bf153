#include "bert_model.h"

#include <graft/error.h>

namespace graft::plugins::bert {

void BertConfig::visit(OptionVisitor& v) {
  v.required("vocab_size", vocab_size, "number of token ids", at_least(1));
  v.required("hidden_size", hidden_size, "width of the hidden states", at_least(1));
  v.required("num_hidden_layers", num_hidden_layers, "number of encoder layers", at_least(0));
  v.required("num_attention_heads", num_attention_heads, "attention heads per layer (must divide hidden_size)", at_least(1));
  v.required("intermediate_size", intermediate_size, "width of the feed-forward layer", at_least(1));
  v.optional("hidden_act", hidden_act, "feed-forward activation",
             one_of({"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh"}));
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

void BertConfig::check(Diagnostics& d) const {
  if (num_attention_heads > 0 && hidden_size % num_attention_heads != 0)
    d.error("num_attention_heads", cat("hidden_size ", hidden_size, " is not a multiple of num_attention_heads ",
                                       num_attention_heads));
  if (pad_token_id >= vocab_size)
    d.error("pad_token_id", cat("pad_token_id ", pad_token_id, " is outside the vocabulary (vocab_size ", vocab_size, ")"));
}

BertModel::BertModel(const BertConfig& c, const LanguageModelContext& ctx) : config_(c), original_config_(ctx.hf_config) {
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

LMOutput BertModel::forward(const Batch& batch, const ForwardOptions& options) {
  const torch::Tensor& input_ids = batch.at("input_ids");
  GRAFT_CHECK(input_ids.dim() == 2, DataError, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  GRAFT_CHECK(input_ids.size(1) <= config_.max_position_embeddings, DataError, "sequence length ", input_ids.size(1),
              " exceeds max_position_embeddings ", config_.max_position_embeddings, " of this BERT model");
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask") : torch::ones_like(input_ids);
  torch::Tensor types = batch.has("token_type_ids") ? batch.at("token_type_ids") : torch::Tensor();

  torch::Tensor h = embeddings->forward(input_ids, types);
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

namespace {
/// Writes each visited field into a Value object (so hf_config() reuses BertConfig::visit).
class ConfigWriter : public OptionVisitor {
 public:
  explicit ConfigWriter(Value& out) : out_(out) {}
  void field(const FieldMeta& m, bool& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, int64_t& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, double& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::string& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<std::string>& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<int64_t>& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<double>& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, Value& v) override {
    if (!v.is_null()) out_.set(m.key, v);
  }

 private:
  Value& out_;
};
}  // namespace

Value BertModel::hf_config() const {
  Value cfg = original_config_.is_object() ? original_config_ : Value::object();
  cfg.set("architectures", Value(Value::Array{Value("BertModel")}));
  cfg.set("model_type", Value("bert"));
  BertConfig copy = config_;
  ConfigWriter w(cfg);
  copy.visit(w);
  return cfg;
}

void BertModel::init_weights() { nn::init_bert_weights(*this, config_.initializer_range); }

}  // namespace graft::plugins::bert
