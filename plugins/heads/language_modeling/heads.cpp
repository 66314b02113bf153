#include "heads.h"

#include <graft/error.h>

#include <algorithm>
#include <memory>

namespace graft::plugins::language_modeling {

namespace F = torch::nn::functional;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

int64_t config_int(const Value& cfg, const char* key, int64_t fallback) {
  const Value* v = cfg.find(key);
  if (!v || v->is_null()) return fallback;
  GRAFT_CHECK(v->is_number(), ConfigError, "language model config: '", key, "' must be a number, found ", v->type_name());
  return v->as_int();
}

double config_double(const Value& cfg, const char* key, double fallback) {
  const Value* v = cfg.find(key);
  if (!v || !v->is_number()) return fallback;
  return v->as_double();
}

std::string config_string(const Value& cfg, const char* key, const std::string& fallback) {
  const Value* v = cfg.find(key);
  if (!v || !v->is_string()) return fallback;
  return v->as_string();
}

/// A plain named container module (for HF's nested names such as cls.predictions.transform).
std::shared_ptr<torch::nn::Module> holder(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>("Holder"));
}

/// Mean over all selected elements, distributed over rows: row i gets
/// B · (sum of its selected values) / (selected count of the batch), so mean(rows) = HF's mean.
torch::Tensor rows_summing_to_mean(const torch::Tensor& per_token, const torch::Tensor& selected) {
  const int64_t B = per_token.size(0);
  auto sel = selected.to(per_token.scalar_type());
  auto row_sum = (per_token * sel).reshape({B, -1}).sum(1);
  auto count = sel.sum().clamp_min(1.0);
  return row_sum * static_cast<double>(B) / count;
}

torch::Tensor labels_of(const Batch& batch, const std::string& key, const torch::Tensor& logits, int64_t T) {
  GRAFT_CHECK(batch.has(key), DataError, "the batch has no '", key, "' tensor (token labels [batch, seq_len]) to compute the loss");
  torch::Tensor labels = batch.at(key).to(logits.device());
  GRAFT_CHECK(labels.dim() == 2 && labels.size(0) == logits.size(0) && labels.size(1) == T, DataError, "'", key,
              "' must be [batch, seq_len] = [", logits.size(0), ", ", T, "], got ", labels.sizes());
  return labels;
}

int64_t real_length(const Sample& s, int64_t T) {
  auto it = s.features.find("attention_mask");
  if (it == s.features.end()) return T;
  return std::min<int64_t>(T, it->second.to(torch::kLong).sum().item<int64_t>());
}

}  // namespace

void MaskedLmOptions::visit(OptionVisitor& v) {
  v.optional("top_k", top_k, "predictions listed per position in formatted output", at_least(1));
}

std::vector<std::string> masked_lm_model_types() {
  return {"albert", "bert", "camembert", "distilbert", "electra", "roberta", "xlm-roberta"};
}

MaskedLmHead::MaskedLmHead(const MaskedLmOptions& options, const HeadContext& context)
    : task_(context.task), model_type_(context.model_type), top_k_(options.top_k) {
  const Value& cfg = context.hf_config;
  const auto known = masked_lm_model_types();
  GRAFT_CHECK(std::find(known.begin(), known.end(), model_type_) != known.end(), ConfigError,
              "masked_lm head: no masked-LM layout for model_type '", model_type_, "' (known: ", join(known), ")");
  GRAFT_CHECK(context.hidden_size > 0, ConfigError, "masked_lm head: the language model's hidden size is ",
              context.hidden_size, "; expected a positive number");
  const int64_t H = context.hidden_size;
  vocab_size_ = config_int(cfg, "vocab_size", 0);
  GRAFT_CHECK(vocab_size_ > 0, ConfigError, "masked_lm head: the language model config has no positive 'vocab_size'");
  const double eps = config_double(cfg, "layer_norm_eps", 1e-12);
  const std::string hidden_act = config_string(cfg, "hidden_act", "gelu");

  auto linear = [](int64_t in, int64_t out) { return torch::nn::Linear(in, out); };
  auto norm = [](int64_t n, double e) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({n}).eps(e)); };
  torch::nn::Module* bias_owner = nullptr;
  std::shared_ptr<torch::nn::Module> keep_bias_owner;
  if (model_type_ == "bert") {
    auto cls = holder(*this, "cls");
    auto predictions = holder(*cls, "predictions");
    auto transform = holder(*predictions, "transform");
    dense_ = transform->register_module("dense", linear(H, H));
    layer_norm_ = transform->register_module("LayerNorm", norm(H, eps));
    act_ = nn::activation_from_name(hidden_act);
    keep_bias_owner = predictions;
  } else if (model_type_ == "roberta" || model_type_ == "xlm-roberta" || model_type_ == "camembert") {
    auto lm_head = holder(*this, "lm_head");
    dense_ = lm_head->register_module("dense", linear(H, H));
    layer_norm_ = lm_head->register_module("layer_norm", norm(H, eps));
    act_ = nn::Activation::gelu;
    keep_bias_owner = lm_head;
  } else if (model_type_ == "electra") {
    const int64_t E = config_int(cfg, "embedding_size", H);
    auto preds = holder(*this, "generator_predictions");
    dense_ = preds->register_module("dense", linear(H, E));
    layer_norm_ = preds->register_module("LayerNorm", norm(E, 1e-5));  // torch default eps, as HF
    act_ = nn::Activation::gelu;
    keep_bias_owner = holder(*this, "generator_lm_head");
  } else if (model_type_ == "distilbert") {
    dense_ = register_module("vocab_transform", linear(H, H));
    layer_norm_ = register_module("vocab_layer_norm", norm(H, 1e-12));
    act_ = nn::Activation::gelu;
    keep_bias_owner = holder(*this, "vocab_projector");
  } else {  // albert
    const int64_t E = config_int(cfg, "embedding_size", H);
    auto preds = holder(*this, "predictions");
    dense_ = preds->register_module("dense", linear(H, E));
    layer_norm_ = preds->register_module("LayerNorm", norm(E, 1e-5));  // torch default eps, as HF
    act_ = nn::activation_from_name(hidden_act);
    keep_bias_owner = preds;
  }
  // Registered last in its owner, as HF's `bias` follows the transform in the state dict.
  bias_owner = keep_bias_owner.get();
  bias_ = bias_owner->register_parameter("bias", torch::zeros({vocab_size_}));
}

torch::Tensor MaskedLmHead::forward(const LMOutput& lm, const Batch& batch) {
  GRAFT_CHECK(lm.word_embeddings.defined(), Error, "masked_lm head: the ", model_type_,
              " language model exposes no word embeddings (LMOutput::word_embeddings) to tie the decoder to");
  GRAFT_CHECK(lm.word_embeddings.size(0) == vocab_size_, Error, "masked_lm head: the word embeddings have ",
              lm.word_embeddings.size(0), " rows but vocab_size is ", vocab_size_);
  torch::Tensor h = layer_norm_(nn::apply_activation(act_, dense_(lm.sequence)));
  GRAFT_CHECK(lm.word_embeddings.size(1) == h.size(-1), Error, "masked_lm head: the word embeddings are ",
              lm.word_embeddings.size(1), " wide but the transform outputs ", h.size(-1));
  return torch::nn::functional::linear(h, lm.word_embeddings, bias_);
}

torch::Tensor MaskedLmHead::loss(const torch::Tensor& logits, const Batch& batch) {
  const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
  torch::Tensor labels = labels_of(batch, label_key(), logits, T).to(torch::kLong);
  auto per_token = F::cross_entropy(logits.reshape({B * T, V}).to(torch::kFloat32), labels.reshape({-1}),
                                    F::CrossEntropyFuncOptions().reduction(torch::kNone).ignore_index(-100))
                       .reshape({B, T});
  return rows_summing_to_mean(per_token, labels.ne(-100));
}

Value MaskedLmHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  Value tokens = Value::array();
  for (size_t s = 0; s < logits.size(); ++s) {
    const torch::Tensor l = logits[s].detach().to(torch::kCPU, torch::kFloat32);
    GRAFT_CHECK(l.dim() == 2 && l.size(1) == vocab_size_, Error, "masked_lm: logits of input ", basket.id, " are ",
                l.sizes(), ", expected [seq_len, ", vocab_size_, "]");
    const Sample* sample = s < basket.samples.size() ? &basket.samples[s] : nullptr;
    const int64_t n = sample ? real_length(*sample, l.size(0)) : l.size(0);
    auto probs = torch::softmax(l.slice(0, 0, n).to(torch::kFloat64), -1);
    auto [top_p, top_i] = probs.topk(std::min<int64_t>(top_k_, vocab_size_), -1);
    for (int64_t t = 0; t < n; ++t) {
      Value entry = Value::object();
      entry.set("position", t);
      if (sample && sample->encoding.ids.size() > static_cast<size_t>(t)) entry.set("input_id", sample->encoding.ids[t]);
      if (sample && sample->encoding.tokens.size() > static_cast<size_t>(t)) entry.set("token", sample->encoding.tokens[t]);
      Value preds = Value::array();
      for (int64_t k = 0; k < top_i.size(1); ++k) {
        Value p = Value::object();
        p.set("id", top_i[t][k].item<int64_t>());
        p.set("probability", top_p[t][k].item<double>());
        preds.push_back(std::move(p));
      }
      entry.set("predictions", std::move(preds));
      tokens.push_back(std::move(entry));
    }
  }
  Value out = Value::object();
  out.set("tokens", std::move(tokens));
  return out;
}

Value MaskedLmHead::prediction_for_metric(const Value& formatted) const {
  Value ids = Value::array();
  for (const auto& t : formatted.at("tokens").as_array()) ids.push_back(t.at("predictions").as_array().front().at("id"));
  return ids;
}

Value MaskedLmHead::gold_for_metric(const Basket& basket) const {
  const Value* l = basket.raw.find("label_ids");
  GRAFT_CHECK(l && l->is_array(), DataError, basket.loc.str().empty() ? basket.id : basket.loc.str(),
              ": the record has no 'label_ids' array (gold token ids, -100 = not scored) to evaluate against");
  return *l;
}

HfHeadExport MaskedLmHead::hf_export() const {
  HfHeadExport e;
  e.architecture_suffix = "ForMaskedLM";
  e.config = Value::object();
  return e;
}

void MaskedLmHead::init_weights(double initializer_range) {
  torch::NoGradGuard ng;
  dense_->weight.normal_(0.0, initializer_range);
  dense_->bias.zero_();
  layer_norm_->weight.fill_(1.0);
  layer_norm_->bias.zero_();
  bias_.zero_();
}

void DiscriminatorOptions::visit(OptionVisitor& v) {
  v.optional("threshold", threshold, "probability above which a token is reported as replaced", in_range(0.0, 1.0));
}

ElectraDiscriminatorHead::ElectraDiscriminatorHead(const DiscriminatorOptions& options, const HeadContext& context)
    : task_(context.task), threshold_(options.threshold) {
  GRAFT_CHECK(context.model_type == "electra", ConfigError, "electra_discriminator head: needs an ELECTRA language model ",
              "(model_type 'electra'), got '", context.model_type, "'");
  GRAFT_CHECK(context.hidden_size > 0, ConfigError, "electra_discriminator head: the language model's hidden size is ",
              context.hidden_size, "; expected a positive number");
  const int64_t H = context.hidden_size;
  act_ = nn::activation_from_name(config_string(context.hf_config, "hidden_act", "gelu"));
  auto preds = holder(*this, "discriminator_predictions");
  dense_ = preds->register_module("dense", torch::nn::Linear(H, H));
  dense_prediction_ = preds->register_module("dense_prediction", torch::nn::Linear(H, 1));
}

torch::Tensor ElectraDiscriminatorHead::forward(const LMOutput& lm, const Batch& batch) {
  return dense_prediction_(nn::apply_activation(act_, dense_(lm.sequence))).squeeze(-1);
}

torch::Tensor ElectraDiscriminatorHead::loss(const torch::Tensor& logits, const Batch& batch) {
  const int64_t T = logits.size(1);
  torch::Tensor labels = labels_of(batch, label_key(), logits, T).to(torch::kFloat32);
  torch::Tensor mask = batch.has("attention_mask") ? batch.at("attention_mask").to(logits.device()).eq(1)
                                                   : torch::ones_like(labels, torch::kBool);
  // Labels outside {0, 1} (e.g. -100 on padding) are only allowed where the mask excludes them.
  auto per_token = F::binary_cross_entropy_with_logits(
      logits.to(torch::kFloat32), labels.clamp(0.0, 1.0),
      F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  return rows_summing_to_mean(per_token, mask);
}

Value ElectraDiscriminatorHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  Value tokens = Value::array();
  for (size_t s = 0; s < logits.size(); ++s) {
    const torch::Tensor l = logits[s].detach().to(torch::kCPU, torch::kFloat64).reshape({-1});
    const Sample* sample = s < basket.samples.size() ? &basket.samples[s] : nullptr;
    const int64_t n = sample ? real_length(*sample, l.size(0)) : l.size(0);
    auto p = torch::sigmoid(l);
    for (int64_t t = 0; t < n; ++t) {
      Value entry = Value::object();
      entry.set("position", t);
      if (sample && sample->encoding.ids.size() > static_cast<size_t>(t)) entry.set("input_id", sample->encoding.ids[t]);
      if (sample && sample->encoding.tokens.size() > static_cast<size_t>(t)) entry.set("token", sample->encoding.tokens[t]);
      const double prob = p[t].item<double>();
      entry.set("probability_replaced", prob);
      entry.set("replaced", prob > threshold_);
      tokens.push_back(std::move(entry));
    }
  }
  Value out = Value::object();
  out.set("tokens", std::move(tokens));
  return out;
}

Value ElectraDiscriminatorHead::prediction_for_metric(const Value& formatted) const {
  Value flags = Value::array();
  for (const auto& t : formatted.at("tokens").as_array()) flags.push_back(Value(int64_t{t.at("replaced").as_bool() ? 1 : 0}));
  return flags;
}

Value ElectraDiscriminatorHead::gold_for_metric(const Basket& basket) const {
  const Value* l = basket.raw.find("label_ids");
  GRAFT_CHECK(l && l->is_array(), DataError, basket.loc.str().empty() ? basket.id : basket.loc.str(),
              ": the record has no 'label_ids' array (1 = replaced token, 0 = original) to evaluate against");
  return *l;
}

HfHeadExport ElectraDiscriminatorHead::hf_export() const {
  HfHeadExport e;
  e.architecture_suffix = "ForPreTraining";
  e.config = Value::object();
  return e;
}

void ElectraDiscriminatorHead::init_weights(double initializer_range) {
  torch::NoGradGuard ng;
  for (auto* lin : {&dense_, &dense_prediction_}) {
    (*lin)->weight.normal_(0.0, initializer_range);
    (*lin)->bias.zero_();
  }
}

}  // namespace graft::plugins::language_modeling
