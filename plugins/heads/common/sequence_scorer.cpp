#include "sequence_scorer.h"

#include <graft/error.h>

namespace graft::plugins::common {

namespace {

double config_number(const Value& config, const char* key, double dflt) {
  const Value* v = config.find(key);
  return v && v->is_number() ? v->as_double() : dflt;
}

}  // namespace

std::vector<std::string> labels_from_id2label(const Value& config) {
  const Value* map = config.find("id2label");
  if (!map || map->is_null()) return {};
  const std::string where = map->location().str().empty() ? std::string("config.json") : map->location().str();
  GRAFT_CHECK(map->is_object(), FormatError, where, ": id2label must be an object {\"0\": label, ...}, got ",
              map->type_name());
  std::vector<std::string> out(map->size());
  std::vector<bool> seen(map->size(), false);
  for (const auto& [key, value] : map->as_object()) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GRAFT_CHECK(used == key.size() && id >= 0 && id < static_cast<long long>(out.size()) && !seen[id], FormatError,
                where, ": id2label key '", key, "' is not one of the indices 0..", out.size() - 1);
    GRAFT_CHECK(value.is_string(), FormatError, where, ": id2label[\"", key, "\"] must be a string, got ",
                value.type_name());
    out[id] = value.as_string();
    seen[id] = true;
  }
  return out;
}

void SequenceScorer::build(torch::nn::Module& owner, const std::string& model_type, int64_t hidden_size,
                           int64_t outputs, double dropout, const Value& hf_config) {
  GRAFT_CHECK(hidden_size > 0, ConfigError, "the language model's hidden size is ", hidden_size,
              "; expected a positive number");
  GRAFT_CHECK(outputs > 0, ConfigError, "a head needs at least one output, got ", outputs);
  if (model_type == "roberta" || model_type == "xlm-roberta" || model_type == "camembert")
    layout_ = "roberta";
  else if (model_type == "electra")
    layout_ = "electra";
  else if (model_type == "distilbert")
    layout_ = "distilbert";
  else
    layout_ = "pooled";

  const double hidden_p = config_number(hf_config, "hidden_dropout_prob", 0.1);
  if (dropout >= 0.0) dropout_p_ = dropout;
  else if (layout_ == "distilbert") dropout_p_ = config_number(hf_config, "seq_classif_dropout", 0.2);
  else if (model_type == "albert") dropout_p_ = config_number(hf_config, "classifier_dropout_prob", 0.1);
  else dropout_p_ = config_number(hf_config, "classifier_dropout", hidden_p);

  dropout_ = owner.register_module("dropout", torch::nn::Dropout(torch::nn::DropoutOptions(dropout_p_)));
  if (layout_ == "roberta" || layout_ == "electra") {
    auto holder = std::make_shared<torch::nn::Module>();
    dense_ = holder->register_module("dense", torch::nn::Linear(hidden_size, hidden_size));
    out_ = holder->register_module("out_proj", torch::nn::Linear(hidden_size, outputs));
    owner.register_module("classifier", holder);
  } else if (layout_ == "distilbert") {
    dense_ = owner.register_module("pre_classifier", torch::nn::Linear(hidden_size, hidden_size));
    out_ = owner.register_module("classifier", torch::nn::Linear(hidden_size, outputs));
  } else {
    out_ = owner.register_module("classifier", torch::nn::Linear(hidden_size, outputs));
  }
}

torch::Tensor SequenceScorer::forward(const LMOutput& lm) {
  if (layout_ == "pooled") {
    torch::Tensor pooled = lm.pooled.defined() ? lm.pooled : lm.sequence.select(1, 0);
    return out_(dropout_(pooled));
  }
  torch::Tensor x = lm.sequence.select(1, 0);
  if (layout_ == "distilbert") return out_(dropout_(torch::relu(dense_(x))));
  x = dense_(dropout_(x));
  x = layout_ == "roberta" ? torch::tanh(x) : torch::gelu(x);
  return out_(dropout_(x));
}

void SequenceScorer::init_weights(double initializer_range) {
  torch::NoGradGuard guard;
  for (auto* l : {&dense_, &out_}) {
    if (!*l) continue;
    (*l)->weight.normal_(0.0, initializer_range);
    (*l)->bias.zero_();
  }
}

}  // namespace graft::plugins::common
