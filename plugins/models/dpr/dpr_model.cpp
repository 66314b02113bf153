#include "dpr_model.h"

#include "../common/hf_config.h"

#include <graft/error.h>

namespace graft::plugins::dpr {

void DprConfig::visit(OptionVisitor& v) {
  bert.visit(v);
  v.optional("projection_dim", projection_dim, "width of encode_proj on the [CLS] vector; 0 = no projection", at_least(0));
  v.optional("encoder_role", encoder_role,
             "question | context (checkpoint prefix question_encoder. / ctx_encoder.); empty = from config.json "
             "architectures",
             one_of({"", "question", "context"}));
}

void DprConfig::check(Diagnostics& d) const { bert.check(d); }

namespace {
Role role_from(const DprConfig& c, const Value& hf) {
  if (c.encoder_role == "context") return Role::context;
  if (c.encoder_role == "question") return Role::question;
  if (const Value* a = hf.find("architectures"); a && a->is_array())
    for (const auto& x : a->as_array())
      if (x.is_string() && x.as_string().find("Context") != std::string::npos) return Role::context;
  return Role::question;
}
}  // namespace

DprEncoder::DprEncoder(const DprConfig& c, const LanguageModelContext& ctx)
    : config_(c), role_(role_from(c, ctx.hf_config)), original_config_(ctx.hf_config) {
  LanguageModelContext inner;
  inner.hf_config = ctx.hf_config;
  bert_model = register_module("bert_model", std::make_shared<bert::BertModel>(c.bert, inner));
  if (c.projection_dim > 0)
    encode_proj = register_module("encode_proj", torch::nn::Linear(c.bert.hidden_size, c.projection_dim));
}

LMOutput DprEncoder::forward(const Batch& batch, const ForwardOptions& options) {
  const torch::Tensor& input_ids = batch.at("input_ids");
  GRAFT_CHECK(input_ids.dim() == 2, DataError, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  GRAFT_CHECK(input_ids.size(1) <= config_.bert.max_position_embeddings, DataError, "sequence length ", input_ids.size(1),
              " exceeds max_position_embeddings ", config_.bert.max_position_embeddings, " of this DPR encoder");
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask") : torch::ones_like(input_ids);
  torch::Tensor types = batch.has("token_type_ids") ? batch.at("token_type_ids") : torch::Tensor();

  // The BERT pooler is skipped: HF's DPR encoders build it but use h[:, 0].
  torch::Tensor h = bert_model->embeddings->forward(input_ids, types);
  torch::Tensor ext = nn::extended_attention_mask(mask, h.scalar_type());
  nn::EncoderOutput enc = bert_model->encoder->forward(h, ext, options.output_hidden_states, options.output_attentions);
  LMOutput out;
  out.sequence = enc.last_hidden_state;
  using torch::indexing::Slice;
  out.pooled = enc.last_hidden_state.index({Slice(), 0});
  if (encode_proj) out.pooled = encode_proj->forward(out.pooled);
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  out.word_embeddings = bert_model->embeddings->word_embeddings->weight;
  return out;
}

Value DprEncoder::hf_config() const {
  DprConfig copy = config_;
  copy.encoder_role.clear();  // not an HF key; the architecture says it
  Value cfg = common::write_hf_config(original_config_, copy, "dpr", architecture_stem());
  cfg.erase("encoder_role");
  return cfg;
}

void DprEncoder::init_weights() { nn::init_bert_weights(*this, config_.bert.initializer_range); }

}  // namespace graft::plugins::dpr
