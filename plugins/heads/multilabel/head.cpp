#include "head.h"

#include "../common/table.h"

#include <graft/error.h>

#include <map>
#include <set>

namespace graft::plugins::multilabel {

namespace F = torch::nn::functional;

void HeadOptions::visit(OptionVisitor& v) {
  v.optional("labels", labels,
             "label names in index order; empty = the task's processor labels (or config.json id2label when "
             "loading a Hugging Face checkpoint with problem_type multi_label_classification)");
  v.optional("dropout", dropout,
             "dropout probability before the classifier; -1 = the language model config's classifier dropout "
             "(as HF), else 0.1");
  v.optional("threshold", threshold, "a label is predicted when its sigmoid probability is above this value",
             in_range(0.0, 1.0));
  v.optional("thresholds", thresholds,
             "one threshold per label (label order), overriding `threshold`; empty = `threshold` for every label");
  v.optional("pos_weight", pos_weight,
             "weight of the positive term of the binary cross-entropy, one number per label (label order) or one "
             "number for all (PyTorch BCEWithLogitsLoss pos_weight); empty = 1");
}

void HeadOptions::check(Diagnostics& d) const {
  if (dropout != -1.0 && (dropout < 0.0 || dropout >= 1.0))
    d.error("dropout", cat("must be in [0, 1) or -1 (take it from the language model config), got ", dropout));
  for (size_t i = 0; i < thresholds.size(); ++i)
    if (!(thresholds[i] >= 0.0 && thresholds[i] <= 1.0))
      d.error(cat("thresholds[", i, "]"), cat("must be in [0, 1], got ", thresholds[i]));
  for (size_t i = 0; i < pos_weight.size(); ++i)
    if (!(pos_weight[i] > 0.0)) d.error(cat("pos_weight[", i, "]"), cat("must be > 0, got ", pos_weight[i]));
  std::set<std::string> seen;
  for (const auto& l : labels)
    if (!seen.insert(l).second) d.error("labels", cat("label '", l, "' is listed twice"));
}

MultilabelHead::MultilabelHead(const HeadOptions& options, const HeadContext& context) : task_(context.task) {
  Diagnostics d;
  options.check(d);
  if (!d.ok()) throw ConfigError(cat("multilabel_classification head options:\n", d.format()));
  const std::string who = cat("multilabel_classification head", task_.empty() ? "" : " of task '" + task_ + "'");
  if (!context.labels.empty()) {
    labels_ = context.labels;
    GRAFT_CHECK(options.labels.empty() || options.labels == labels_, ConfigError, who, ": labels [",
                common::join_quoted(options.labels), "] differ from the task's labels [", common::join_quoted(labels_),
                "]");
  } else if (!options.labels.empty()) {
    labels_ = options.labels;
  } else {
    labels_ = common::labels_from_id2label(context.hf_config);
  }
  GRAFT_CHECK(!labels_.empty(), ConfigError, who,
              ": no labels; give `labels` (head or processor), a labels_file, or train data to collect them from");
  const size_t k = labels_.size();
  GRAFT_CHECK(options.thresholds.empty() || options.thresholds.size() == k, ConfigError, who, ": thresholds has ",
              options.thresholds.size(), " numbers but there are ", k, " labels");
  thresholds_ = options.thresholds.empty() ? std::vector<double>(k, options.threshold) : options.thresholds;
  if (!options.pos_weight.empty()) {
    GRAFT_CHECK(options.pos_weight.size() == 1 || options.pos_weight.size() == k, ConfigError, who, ": pos_weight has ",
                options.pos_weight.size(), " numbers; expected 1 or one per label (", k, ")");
    std::vector<double> w = options.pos_weight.size() == 1 ? std::vector<double>(k, options.pos_weight[0]) : options.pos_weight;
    pos_weight_ = torch::tensor(w, torch::kFloat32);
  }
  scorer_.build(*this, context.model_type, context.hidden_size, static_cast<int64_t>(k), options.dropout,
                context.hf_config);
}

torch::Tensor MultilabelHead::forward(const LMOutput& lm, const Batch& batch) {
  (void)batch;
  return scorer_.forward(lm);
}

torch::Tensor MultilabelHead::loss(const torch::Tensor& logits, const Batch& batch) {
  torch::Tensor gold = batch.at(label_key()).to(logits.device(), torch::kFloat32);
  GRAFT_CHECK(gold.sizes() == logits.sizes(), Error, "multilabel_classification: labels of shape ", gold.sizes(),
              " do not match logits of shape ", logits.sizes());
  auto opts = F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone);
  if (pos_weight_.defined()) opts = opts.pos_weight(pos_weight_.to(logits.device()));
  return F::binary_cross_entropy_with_logits(logits.to(torch::kFloat32), gold, opts).mean(1);
}

Value MultilabelHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  GRAFT_CHECK(!logits.empty(), Error, "multilabel_classification: no logits for input ", basket.id);
  std::vector<torch::Tensor> rows;
  for (const auto& l : logits) {
    GRAFT_CHECK(l.numel() == static_cast<int64_t>(labels_.size()), Error, "multilabel_classification: logits of input ",
                basket.id, " have ", l.numel(), " values, expected ", labels_.size());
    rows.push_back(l.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
  }
  torch::Tensor probs = torch::sigmoid(torch::stack(rows).mean(0)).contiguous();
  const double* p = probs.data_ptr<double>();
  Value chosen = Value::array();
  Value all = Value::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    all.set(labels_[i], p[i]);
    if (p[i] > thresholds_[i]) chosen.push_back(labels_[i]);
  }
  Value out = Value::object();
  out.set("labels", std::move(chosen));
  out.set("probabilities", std::move(all));
  return out;
}

Value MultilabelHead::prediction_for_metric(const Value& formatted) const {
  Value out = Value::object();
  out.set("labels", formatted.at("labels"));
  std::vector<double> scores;
  const Value& probs = formatted.at("probabilities");
  for (const auto& l : labels_) scores.push_back(probs.at(l).as_double());
  out.set("scores", Value(scores));
  return out;
}

Value MultilabelHead::gold_for_metric(const Basket& basket) const {
  const Value* l = basket.raw.find("labels");
  GRAFT_CHECK(l && l->is_array(), DataError, basket.loc.str().empty() ? basket.id : basket.loc.str(),
              ": the record has no gold labels to evaluate against");
  return *l;
}

HfHeadExport MultilabelHead::hf_export() const {
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
  e.config.set("problem_type", "multi_label_classification");
  return e;
}

void MultilabelHead::init_weights(double initializer_range) { scorer_.init_weights(initializer_range); }

}  // namespace graft::plugins::multilabel
