#include "head.h"

#include "../common/table.h"

#include <graft/error.h>
#include <graft/log.h>

#include <cmath>

namespace graft::plugins::regression {

void HeadOptions::visit(OptionVisitor& v) {
  v.optional("labels", labels,
             "names of the outputs, in order; empty = the task's target columns (or config.json id2label of a "
             "Hugging Face regression checkpoint); one output when nothing names them");
  v.optional("dropout", dropout,
             "dropout probability before the output layer; -1 = the language model config's classifier dropout "
             "(as HF), else 0.1");
  v.optional("standardize", standardize,
             "train on standardised targets (y - mean) / std and undo it at prediction time; mean and std come "
             "from the training data and are saved with the model");
  v.optional("label_mean", label_mean,
             "mean of each target over the training data; filled in by the engine, set it only when building the "
             "head yourself");
  v.optional("label_std", label_std,
             "population standard deviation of each target over the training data (0 is treated as 1); filled "
             "in by the engine");
}

void HeadOptions::check(Diagnostics& d) const {
  if (dropout != -1.0 && (dropout < 0.0 || dropout >= 1.0))
    d.error("dropout", cat("must be in [0, 1) or -1 (take it from the language model config), got ", dropout));
  if (label_mean.size() != label_std.size())
    d.error("label_std", cat("has ", label_std.size(), " numbers but label_mean has ", label_mean.size()));
  for (size_t i = 0; i < label_std.size(); ++i)
    if (!(label_std[i] >= 0.0)) d.error(cat("label_std[", i, "]"), cat("must be >= 0, got ", label_std[i]));
}

RegressionHead::RegressionHead(const HeadOptions& options, const HeadContext& context) : task_(context.task) {
  Diagnostics d;
  options.check(d);
  if (!d.ok()) throw ConfigError(cat("regression head options:\n", d.format()));
  const std::string who = cat("regression head", task_.empty() ? "" : " of task '" + task_ + "'");
  if (!context.labels.empty()) {
    labels_ = context.labels;
    GRAFT_CHECK(options.labels.empty() || options.labels == labels_, ConfigError, who, ": labels [",
                common::join_quoted(options.labels), "] differ from the task's outputs [", common::join_quoted(labels_),
                "]");
  } else if (!options.labels.empty()) {
    labels_ = options.labels;
  } else {
    labels_ = common::labels_from_id2label(context.hf_config);
    if (labels_.empty()) labels_ = {"score"};
  }
  const size_t k = labels_.size();
  standardize_ = options.standardize;
  if (standardize_) {
    GRAFT_CHECK(options.label_mean.size() == k, ConfigError, who,
                ": standardize = true needs the mean and std of each of the ", k,
                " target(s) (label_mean/label_std, filled in by the engine from the training data), got ",
                options.label_mean.size());
    std::vector<double> s = options.label_std;
    for (auto& x : s)
      if (x == 0.0) x = 1.0;  // constant target: as scikit-learn's StandardScaler
    mean_ = torch::tensor(options.label_mean, torch::kFloat64);
    std_ = torch::tensor(s, torch::kFloat64);
  }
  scorer_.build(*this, context.model_type, context.hidden_size, static_cast<int64_t>(k), options.dropout,
                context.hf_config);
}

torch::Tensor RegressionHead::forward(const LMOutput& lm, const Batch& batch) {
  (void)batch;
  return scorer_.forward(lm);
}

torch::Tensor RegressionHead::loss(const torch::Tensor& logits, const Batch& batch) {
  torch::Tensor gold = batch.at(label_key()).to(logits.device(), torch::kFloat32);
  if (gold.dim() == 1) gold = gold.unsqueeze(1);
  GRAFT_CHECK(gold.sizes() == logits.sizes(), Error, "regression: targets of shape ", gold.sizes(),
              " do not match outputs of shape ", logits.sizes());
  if (standardize_)
    gold = (gold - mean_.to(logits.device(), torch::kFloat32)) / std_.to(logits.device(), torch::kFloat32);
  torch::Tensor diff = logits.to(torch::kFloat32) - gold;
  return (diff * diff).mean(1);
}

torch::Tensor RegressionHead::to_targets(const torch::Tensor& outputs) const {
  torch::Tensor y = outputs.to(torch::kFloat64);
  return standardize_ ? y * std_ + mean_ : y;
}

Value RegressionHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  GRAFT_CHECK(!logits.empty(), Error, "regression: no outputs for input ", basket.id);
  std::vector<torch::Tensor> rows;
  for (const auto& l : logits) {
    GRAFT_CHECK(l.numel() == static_cast<int64_t>(labels_.size()), Error, "regression: outputs of input ", basket.id,
                " have ", l.numel(), " values, expected ", labels_.size());
    rows.push_back(l.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
  }
  torch::Tensor y = to_targets(torch::stack(rows).mean(0)).contiguous();
  const double* p = y.data_ptr<double>();
  Value out = Value::object();
  if (labels_.size() == 1) {
    out.set("value", p[0]);
  } else {
    Value values = Value::object();
    for (size_t i = 0; i < labels_.size(); ++i) values.set(labels_[i], p[i]);
    out.set("values", std::move(values));
  }
  return out;
}

Value RegressionHead::prediction_for_metric(const Value& formatted) const {
  if (const Value* v = formatted.find("value")) return *v;
  std::vector<double> out;
  const Value& values = formatted.at("values");
  for (const auto& l : labels_) out.push_back(values.at(l).as_double());
  return Value(out);
}

Value RegressionHead::gold_for_metric(const Basket& basket) const {
  const Value* t = basket.raw.find("targets");
  GRAFT_CHECK(t && t->is_array() && t->size() == labels_.size(), DataError,
              basket.loc.str().empty() ? basket.id : basket.loc.str(), ": the record has no gold target(s) to evaluate against");
  return t->size() == 1 ? t->as_array().front() : *t;
}

HfHeadExport RegressionHead::hf_export() const {
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
  e.config.set("problem_type", "regression");
  return e;
}

void RegressionHead::init_weights(double initializer_range) { scorer_.init_weights(initializer_range); }

}  // namespace graft::plugins::regression
