#include "head.h"

#include <graft/error.h>
#include <graft/log.h>

#include <algorithm>
#include <map>
#include <set>

namespace graft::plugins::text_classification {

namespace F = torch::nn::functional;

void HeadOptions::visit(OptionVisitor& v) {
  v.optional("labels", labels,
             "label names in index order; empty = the task's processor labels (or config.json id2label "
             "when loading a Hugging Face *ForSequenceClassification checkpoint)");
  v.optional("dropout", dropout,
             "dropout probability before the classifier; -1 = the language model's classifier_dropout or "
             "hidden_dropout_prob (config.json), else 0.1");
  v.optional("class_weights", class_weights,
             "loss weight per class: \"balanced\" (n_samples / (n_classes * count), as scikit-learn) or a list of "
             "numbers in label order; absent = unweighted");
  v.optional("class_counts", class_counts,
             "training examples per label, in label order; used by class_weights = \"balanced\". Filled in by the "
             "engine from the training-data statistics; set it only when building the head yourself");
}

void HeadOptions::check(Diagnostics& d) const {
  if (dropout != -1.0 && (dropout < 0.0 || dropout >= 1.0))
    d.error("dropout", cat("must be in [0, 1) or -1 (take it from the language model config), got ", dropout));
  if (!class_weights.is_null()) {
    if (class_weights.is_string()) {
      if (class_weights.as_string() != "balanced")
        d.error("class_weights", cat("expected \"balanced\" or a list of numbers, got \"", class_weights.as_string(),
                                     "\""), class_weights.location());
    } else if (class_weights.is_array()) {
      for (size_t i = 0; i < class_weights.size(); ++i) {
        const Value& w = class_weights.as_array()[i];
        if (!w.is_number())
          d.error(cat("class_weights[", i, "]"), cat("expected a number, got ", w.type_name()), w.location());
        else if (w.as_double() < 0.0)
          d.error(cat("class_weights[", i, "]"), cat("must be >= 0, got ", w.as_double()), w.location());
      }
    } else {
      d.error("class_weights", cat("expected \"balanced\" or a list of numbers, got a ", class_weights.type_name()),
              class_weights.location());
    }
  }
  for (size_t i = 0; i < class_counts.size(); ++i)
    if (class_counts[i] < 0) d.error(cat("class_counts[", i, "]"), cat("must be >= 0, got ", class_counts[i]));
  std::set<std::string> seen;
  for (const auto& l : labels)
    if (!seen.insert(l).second) d.error("labels", cat("label '", l, "' is listed twice"));
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out;
}

/// config.json id2label {"0": "neg", "1": "pos"} → ["neg", "pos"]; FormatError when malformed.
std::vector<std::string> labels_from_id2label(const Value& config) {
  const Value* map = config.find("id2label");
  if (!map || map->is_null()) return {};
  std::string where = map->location().str().empty() ? "config.json" : map->location().str();
  GRAFT_CHECK(map->is_object(), FormatError, where, ": id2label must be an object {\"0\": label, ...}, got ",
              map->type_name());
  std::map<int64_t, std::string> by_id;
  for (const auto& [key, value] : map->as_object()) {
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    GRAFT_CHECK(used == key.size() && id >= 0, FormatError, where, ": id2label key '", key,
                "' is not a non-negative integer");
    GRAFT_CHECK(value.is_string(), FormatError, where, ": id2label[\"", key, "\"] must be a string, got ",
                value.type_name());
    by_id[id] = value.as_string();
  }
  std::vector<std::string> out;
  for (const auto& [id, label] : by_id) {
    GRAFT_CHECK(id == static_cast<int64_t>(out.size()), FormatError, where, ": id2label ids must be 0..",
                by_id.size() - 1, " without gaps; id ", out.size(), " is missing");
    out.push_back(label);
  }
  return out;
}

}  // namespace

TextClassificationHead::TextClassificationHead(const HeadOptions& options, const HeadContext& context)
    : task_(context.task) {
  Diagnostics d;
  options.check(d);
  if (!d.ok()) throw ConfigError(cat("text_classification head options:\n", d.format()));

  // Label list: the task's (processor / saved model), the recipe's, or the HF checkpoint's.
  if (!context.labels.empty()) {
    labels_ = context.labels;
    GRAFT_CHECK(options.labels.empty() || options.labels == labels_, ConfigError, "text_classification head",
                task_.empty() ? "" : " of task '" + task_ + "'", ": labels [", join(options.labels),
                "] differ from the task's labels [", join(labels_), "]");
  } else if (!options.labels.empty()) {
    labels_ = options.labels;
  } else {
    labels_ = labels_from_id2label(context.hf_config);
  }
  GRAFT_CHECK(!labels_.empty(), ConfigError, "text_classification head", task_.empty() ? "" : " of task '" + task_ + "'",
              ": no labels; give `labels` in the recipe, or train data from which the processor collects them");
  {
    std::set<std::string> seen;
    for (const auto& l : labels_)
      GRAFT_CHECK(seen.insert(l).second, ConfigError, "text_classification head: label '", l, "' appears twice");
  }
  GRAFT_CHECK(context.hidden_size > 0, ConfigError, "text_classification head: the language model's hidden size is ",
              context.hidden_size, "; expected a positive number");

  layout_ = classifier_layout_for(context.model_type);
  // Dropout: explicit, else what the family's HF class uses: classifier_dropout → (ALBERT)
  // classifier_dropout_prob / (DistilBERT) seq_classif_dropout → hidden_dropout_prob → 0.1.
  if (options.dropout >= 0.0) {
    dropout_p_ = options.dropout;
  } else {
    dropout_p_ = 0.1;
    for (const char* key : {"classifier_dropout", "classifier_dropout_prob", "seq_classif_dropout", "hidden_dropout_prob"}) {
      const Value* v = context.hf_config.find(key);
      if (v && v->is_number()) {
        dropout_p_ = v->as_double();
        break;
      }
    }
  }

  const auto k = static_cast<int64_t>(labels_.size());
  if (options.class_weights.is_string()) {  // "balanced" (check() allowed nothing else)
    GRAFT_CHECK(options.class_counts.size() == labels_.size(), ConfigError,
                "text_classification head: class_weights = \"balanced\" needs the training count of each of the ", k,
                " labels (option class_counts, filled in by the engine from the training data), got ",
                options.class_counts.size(), " counts");
    int64_t total = 0;
    for (size_t i = 0; i < labels_.size(); ++i) {
      GRAFT_CHECK(options.class_counts[i] > 0, ConfigError, "text_classification head: class_weights = \"balanced\" ",
                  "needs at least one training example of every label; label '", labels_[i], "' has none");
      total += options.class_counts[i];
    }
    std::vector<double> w;
    for (int64_t c : options.class_counts)
      w.push_back(static_cast<double>(total) / (static_cast<double>(k) * static_cast<double>(c)));
    class_weights_ = torch::tensor(w, torch::kFloat32);
    std::string shown;
    for (size_t i = 0; i < w.size(); ++i) shown += cat(i ? ", " : "", labels_[i], "=", w[i]);
    log::info("text_classification", task_.empty() ? "" : " (task '" + task_ + "')", ": balanced class weights ",
              shown);
  } else if (options.class_weights.is_array()) {
    GRAFT_CHECK(options.class_weights.size() == labels_.size(), ConfigError,
                "text_classification head: class_weights has ", options.class_weights.size(),
                " numbers but there are ", k, " labels [", join(labels_), "]");
    std::vector<double> w;
    for (const auto& x : options.class_weights.as_array()) w.push_back(x.as_double());
    class_weights_ = torch::tensor(w, torch::kFloat32);
  }

  dropout_ = register_module("dropout", torch::nn::Dropout(torch::nn::DropoutOptions(dropout_p_)));
  switch (layout_) {
    case ClassifierLayout::pooled_linear:
      classifier_ = register_module("classifier", torch::nn::Linear(context.hidden_size, k));
      break;
    case ClassifierLayout::first_token_mlp:
      mlp_ = register_module("classifier", FirstTokenMlp(context.hidden_size, k, dropout_p_, context.model_type == "electra"));
      break;
    case ClassifierLayout::distilbert:
      pre_classifier_ = register_module("pre_classifier", torch::nn::Linear(context.hidden_size, context.hidden_size));
      classifier_ = register_module("classifier", torch::nn::Linear(context.hidden_size, k));
      break;
  }
}

ClassifierLayout classifier_layout_for(const std::string& model_type) {
  if (model_type == "roberta" || model_type == "xlm-roberta" || model_type == "camembert" || model_type == "electra")
    return ClassifierLayout::first_token_mlp;
  if (model_type == "distilbert") return ClassifierLayout::distilbert;
  return ClassifierLayout::pooled_linear;
}

FirstTokenMlpImpl::FirstTokenMlpImpl(int64_t hidden_size, int64_t num_labels, double p, bool gelu) : gelu_(gelu) {
  dense = register_module("dense", torch::nn::Linear(hidden_size, hidden_size));
  dropout = register_module("dropout", torch::nn::Dropout(torch::nn::DropoutOptions(p)));
  out_proj = register_module("out_proj", torch::nn::Linear(hidden_size, num_labels));
}

torch::Tensor FirstTokenMlpImpl::forward(const torch::Tensor& first_token) {
  // HF RobertaClassificationHead: dropout → dense → tanh → dropout → out_proj;
  // ElectraClassificationHead: the same with exact GELU (hard-coded, not hidden_act).
  torch::Tensor h = dense(dropout(first_token));
  h = gelu_ ? torch::gelu(h) : torch::tanh(h);
  return out_proj(dropout(h));
}

torch::Tensor TextClassificationHead::forward(const LMOutput& lm, const Batch& batch) {
  switch (layout_) {
    case ClassifierLayout::first_token_mlp: return mlp_(lm.sequence.select(1, 0));
    case ClassifierLayout::distilbert:
      return classifier_(dropout_(torch::relu(pre_classifier_(lm.sequence.select(1, 0)))));
    case ClassifierLayout::pooled_linear: break;
  }
  torch::Tensor pooled = lm.pooled.defined() ? lm.pooled : lm.sequence.select(1, 0);
  return classifier_(dropout_(pooled));
}

torch::Tensor TextClassificationHead::loss(const torch::Tensor& logits, const Batch& batch) {
  torch::Tensor gold = batch.at(label_key()).to(logits.device()).reshape({-1});
  auto opts = F::CrossEntropyFuncOptions().reduction(torch::kNone);
  if (class_weights_.defined()) opts = opts.weight(class_weights_.to(logits.device(), logits.scalar_type()));
  return F::cross_entropy(logits, gold, opts);
}

Value TextClassificationHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  GRAFT_CHECK(!logits.empty(), Error, "text_classification: no logits for input ", basket.id);
  std::vector<torch::Tensor> rows;
  for (const auto& l : logits) {
    GRAFT_CHECK(l.numel() == static_cast<int64_t>(labels_.size()), Error, "text_classification: logits of input ",
                basket.id, " have ", l.numel(), " values, expected ", labels_.size());
    rows.push_back(l.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
  }
  torch::Tensor probs = torch::softmax(torch::stack(rows).mean(0), 0).contiguous();
  const double* p = probs.data_ptr<double>();
  size_t best = 0;
  Value all = Value::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    all.set(labels_[i], p[i]);
    if (p[i] > p[best]) best = i;
  }
  Value out = Value::object();
  out.set("label", labels_[best]);
  out.set("probability", p[best]);
  out.set("probabilities", std::move(all));
  return out;
}

Value TextClassificationHead::prediction_for_metric(const Value& formatted) const {
  return Value(formatted.at("label").as_string());
}

Value TextClassificationHead::gold_for_metric(const Basket& basket) const {
  const Value* l = basket.raw.find("label");
  GRAFT_CHECK(l && l->is_string(), DataError, basket.loc.str().empty() ? basket.id : basket.loc.str(),
              ": the record has no gold label to evaluate against");
  return Value(l->as_string());
}

HfHeadExport TextClassificationHead::hf_export() const {
  HfHeadExport e;
  e.architecture_suffix = "ForSequenceClassification";
  Value id2label = Value::object(), label2id = Value::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    id2label.set(std::to_string(i), labels_[i]);
    label2id.set(labels_[i], static_cast<int64_t>(i));
  }
  e.config = Value::object();
  e.config.set("id2label", std::move(id2label));
  e.config.set("label2id", std::move(label2id));
  e.config.set("problem_type", "single_label_classification");
  return e;
}

void TextClassificationHead::init_weights(double initializer_range) {
  torch::NoGradGuard guard;
  for (const auto& m : modules(/*include_self=*/false))
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, initializer_range);
      if (lin->bias.defined()) lin->bias.zero_();
    }
}

}  // namespace graft::plugins::text_classification
