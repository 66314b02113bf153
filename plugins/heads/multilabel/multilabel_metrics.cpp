#include "multilabel_metrics.h"

#include "../common/table.h"

#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <set>

namespace graft::plugins::multilabel {

namespace {

double ratio(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

double f1_from(double p, double r) {
  double denom = p + r;
  if (denom == 0.0) denom = 1.0;
  return 2.0 * p * r / denom;
}

std::string where(const Value& v, const char* side, size_t i) {
  if (!v.location().file.empty()) return v.location().str();
  return cat(side, " value ", i, " (0-based)");
}

struct Parsed {
  std::vector<std::string> names;  ///< labels by name
  std::vector<int64_t> ids;        ///< labels by index (when given as integers)
  const Value* scores = nullptr;
};

Parsed parse_value(const Value& v, const char* side, size_t i, const std::string& metric) {
  Parsed p;
  auto bad = [&](const std::string& what) {
    return DataError(cat("metric '", metric, "': ", where(v, side, i), ": ", what));
  };
  auto add_items = [&](const Value& list) {
    if (list.is_string()) {
      for (auto& item : common::split_trimmed(list.as_string(), ",")) {
        if (item.empty()) throw bad(cat("empty label in '", list.as_string(), "'; expected labels separated by ','"));
        p.names.push_back(std::move(item));
      }
      return;
    }
    if (!list.is_array()) throw bad(cat("expected a list of labels, got a ", list.type_name()));
    for (const auto& item : list.as_array()) {
      if (item.is_string()) p.names.push_back(item.as_string());
      else if (item.is_int()) p.ids.push_back(item.as_int());
      else throw bad(cat("a label must be a string or an index, got a ", item.type_name()));
    }
  };
  if (v.is_object()) {
    const Value* labels = v.find("labels");
    if (!labels) throw bad("an object value needs \"labels\" (and optionally \"scores\")");
    add_items(*labels);
    if (const Value* s = v.find("scores"); s && !s->is_null()) p.scores = s;
  } else {
    add_items(v);
  }
  return p;
}

/// Average ranks (1-based) of `x`, ties sharing the mean of their positions.
std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/// ROC AUC of binary gold vs scores (Mann–Whitney U with ties counted 1/2); NaN when undefined.
double roc_auc(const std::vector<uint8_t>& y, const std::vector<double>& s) {
  double pos = 0, neg = 0;
  for (auto t : y) (t ? pos : neg) += 1;
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  auto ranks = average_ranks(s);
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i]) sum += ranks[i];
  return (sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

/// sklearn average_precision_score (step-wise, distinct thresholds); NaN without positives.
double average_precision(const std::vector<uint8_t>& y, const std::vector<double>& s) {
  std::vector<size_t> order(y.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  double total_pos = 0;
  for (auto t : y) total_pos += t;
  if (total_pos == 0) return std::numeric_limits<double>::quiet_NaN();
  double tp = 0, fp = 0, prev_recall = 0, ap = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (y[order[i]]) tp += 1;
    else fp += 1;
    if (i + 1 < order.size() && s[order[i + 1]] == s[order[i]]) continue;  // same threshold
    double recall = tp / total_pos;
    ap += (recall - prev_recall) * (tp / (tp + fp));
    prev_recall = recall;
  }
  return ap;
}

}  // namespace

MultilabelStats::MultilabelStats(const MetricInput& input, const std::string& metric) : metric_(metric) {
  const auto& gold = input.gold;
  const auto& pred = input.pred;
  GRAFT_CHECK(gold.size() == pred.size(), DataError, "metric '", metric, "': ", gold.size(), " gold values but ",
              pred.size(), " predictions; they must pair up one to one");
  GRAFT_CHECK(!gold.empty(), DataError, "metric '", metric, "': no samples to score");
  std::vector<Parsed> g, p;
  for (size_t i = 0; i < gold.size(); ++i) {
    g.push_back(parse_value(gold[i], "gold", i, metric));
    p.push_back(parse_value(pred[i], "predicted", i, metric));
  }
  labels_ = input.labels;
  if (labels_.empty()) {
    std::set<std::string> names;
    for (const auto* side : {&g, &p})
      for (size_t i = 0; i < side->size(); ++i) {
        const Parsed& x = (*side)[i];
        GRAFT_CHECK(x.ids.empty(), DataError, "metric '", metric, "': ",
                    where((side == &g ? gold : pred)[i], side == &g ? "gold" : "predicted", i),
                    ": labels given as indices need the label list (--labels a,b,c)");
        names.insert(x.names.begin(), x.names.end());
      }
    labels_.assign(names.begin(), names.end());
  }
  GRAFT_CHECK(!labels_.empty(), DataError, "metric '", metric,
              "': no label occurs in gold or predictions and no label list was given");
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < labels_.size(); ++k)
    GRAFT_CHECK(index.emplace(labels_[k], k).second, DataError, "metric '", metric, "': label '", labels_[k],
                "' appears twice in the label list");
  const size_t K = labels_.size();
  auto fill = [&](const Parsed& x, const Value& v, const char* side, size_t i, std::vector<uint8_t>& row) {
    row.assign(K, 0);
    for (const auto& n : x.names) {
      auto it = index.find(n);
      GRAFT_CHECK(it != index.end(), DataError, "metric '", metric, "': ", where(v, side, i), ": label '", n,
                  "' is not in the label list (", common::join_quoted(labels_, 20), ")");
      row[it->second] = 1;
    }
    for (int64_t id : x.ids) {
      GRAFT_CHECK(id >= 0 && id < static_cast<int64_t>(K), DataError, "metric '", metric, "': ", where(v, side, i),
                  ": label index ", id, " is outside 0..", K - 1);
      row[static_cast<size_t>(id)] = 1;
    }
  };
  truth_.resize(gold.size());
  pred_.resize(gold.size());
  size_t with_scores = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    fill(g[i], gold[i], "gold", i, truth_[i]);
    fill(p[i], pred[i], "predicted", i, pred_[i]);
    if (p[i].scores) ++with_scores;
  }
  if (with_scores == 0) return;
  GRAFT_CHECK(with_scores == pred.size(), DataError, "metric '", metric, "': ", with_scores, " of ", pred.size(),
              " predictions carry scores; give scores for all or none");
  scores_.assign(pred.size(), std::vector<double>(K, 0.0));
  for (size_t i = 0; i < pred.size(); ++i) {
    const Value& s = *p[i].scores;
    auto bad = [&](const std::string& what) {
      return DataError(cat("metric '", metric, "': ", where(pred[i], "predicted", i), ": scores ", what));
    };
    if (s.is_array()) {
      if (input.labels.empty()) throw bad("as a list need the label list to fix their order");
      if (s.size() != K) throw bad(cat("has ", s.size(), " numbers, expected one per label (", K, ")"));
      for (size_t k = 0; k < K; ++k) {
        if (!s.as_array()[k].is_number()) throw bad(cat("[", k, "] is a ", s.as_array()[k].type_name()));
        scores_[i][k] = s.as_array()[k].as_double();
      }
    } else if (s.is_object()) {
      std::vector<bool> seen(K, false);
      for (const auto& [name, x] : s.as_object()) {
        auto it = index.find(name);
        if (it == index.end()) throw bad(cat("name label '", name, "' that is not in the label list"));
        if (!x.is_number()) throw bad(cat("['", name, "'] is a ", x.type_name()));
        scores_[i][it->second] = x.as_double();
        seen[it->second] = true;
      }
      for (size_t k = 0; k < K; ++k)
        if (!seen[k]) throw bad(cat("lack label '", labels_[k], "'"));
    } else {
      throw bad(cat("must be a list (label order) or an object {label: score}, got a ", s.type_name()));
    }
  }
  has_scores_ = true;
}

std::vector<MultilabelStats::Prf> MultilabelStats::per_class() const {
  const size_t K = labels_.size();
  std::vector<Prf> out(K);
  for (size_t k = 0; k < K; ++k) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < truth_.size(); ++i) {
      tp += truth_[i][k] && pred_[i][k];
      fp += !truth_[i][k] && pred_[i][k];
      fn += truth_[i][k] && !pred_[i][k];
    }
    out[k].precision = ratio(tp, tp + fp);
    out[k].recall = ratio(tp, tp + fn);
    out[k].f1 = f1_from(out[k].precision, out[k].recall);
    out[k].support = static_cast<int64_t>(tp + fn);
  }
  return out;
}

MultilabelStats::Prf MultilabelStats::micro() const {
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < truth_.size(); ++i)
    for (size_t k = 0; k < labels_.size(); ++k) {
      tp += truth_[i][k] && pred_[i][k];
      fp += !truth_[i][k] && pred_[i][k];
      fn += truth_[i][k] && !pred_[i][k];
    }
  Prf r;
  r.precision = ratio(tp, tp + fp);
  r.recall = ratio(tp, tp + fn);
  r.f1 = f1_from(r.precision, r.recall);
  r.support = static_cast<int64_t>(tp + fn);
  return r;
}

MultilabelStats::Prf MultilabelStats::macro() const {
  auto pc = per_class();
  Prf r;
  for (const auto& c : pc) {
    r.precision += c.precision;
    r.recall += c.recall;
    r.f1 += c.f1;
    r.support += c.support;
  }
  const double k = static_cast<double>(pc.size());
  r.precision /= k;
  r.recall /= k;
  r.f1 /= k;
  return r;
}

MultilabelStats::Prf MultilabelStats::weighted() const {
  auto pc = per_class();
  Prf r;
  for (const auto& c : pc) r.support += c.support;
  if (r.support == 0) return r;
  for (const auto& c : pc) {
    const double w = static_cast<double>(c.support);
    r.precision += c.precision * w;
    r.recall += c.recall * w;
    r.f1 += c.f1 * w;
  }
  const double total = static_cast<double>(r.support);
  r.precision /= total;
  r.recall /= total;
  r.f1 /= total;
  return r;
}

MultilabelStats::Prf MultilabelStats::samples_average() const {
  Prf r;
  for (size_t i = 0; i < truth_.size(); ++i) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t k = 0; k < labels_.size(); ++k) {
      tp += truth_[i][k] && pred_[i][k];
      fp += !truth_[i][k] && pred_[i][k];
      fn += truth_[i][k] && !pred_[i][k];
    }
    const double p = ratio(tp, tp + fp), rc = ratio(tp, tp + fn);
    r.precision += p;
    r.recall += rc;
    r.f1 += f1_from(p, rc);
    r.support += static_cast<int64_t>(tp + fn);
  }
  const double n = static_cast<double>(truth_.size());
  r.precision /= n;
  r.recall /= n;
  r.f1 /= n;
  return r;
}

double MultilabelStats::hamming_loss() const {
  double diff = 0;
  for (size_t i = 0; i < truth_.size(); ++i)
    for (size_t k = 0; k < labels_.size(); ++k) diff += truth_[i][k] != pred_[i][k];
  return diff / (static_cast<double>(truth_.size()) * static_cast<double>(labels_.size()));
}

double MultilabelStats::subset_accuracy() const {
  double same = 0;
  for (size_t i = 0; i < truth_.size(); ++i) same += truth_[i] == pred_[i];
  return same / static_cast<double>(truth_.size());
}

int64_t MultilabelStats::empty_predictions() const {
  int64_t n = 0;
  for (const auto& row : pred_) n += std::none_of(row.begin(), row.end(), [](uint8_t x) { return x != 0; });
  return n;
}

void MultilabelStats::require_scores() const {
  GRAFT_CHECK(has_scores_, DataError, "metric '", metric_,
              "' ranks predictions by score; the predictions carry labels only. Give scores: the multilabel head's "
              "predictions do; with `graft score` write each prediction line as JSON, e.g. "
              "{\"labels\": [\"joy\"], \"scores\": {\"joy\": 0.9, \"anger\": 0.1}}");
}

std::vector<double> MultilabelStats::roc_auc_per_class() const {
  require_scores();
  std::vector<double> out;
  for (size_t k = 0; k < labels_.size(); ++k) {
    std::vector<uint8_t> y;
    std::vector<double> s;
    for (size_t i = 0; i < truth_.size(); ++i) {
      y.push_back(truth_[i][k]);
      s.push_back(scores_[i][k]);
    }
    out.push_back(roc_auc(y, s));
  }
  return out;
}

double MultilabelStats::roc_auc_macro() const {
  auto per = roc_auc_per_class();
  double sum = 0;
  int64_t n = 0;
  for (double a : per)
    if (!std::isnan(a)) {
      sum += a;
      ++n;
    }
  GRAFT_CHECK(n > 0, DataError, "metric '", metric_,
              "': ROC AUC is undefined for every label (each label's gold column is all 0 or all 1)");
  return sum / static_cast<double>(n);
}

double MultilabelStats::roc_auc_micro() const {
  require_scores();
  std::vector<uint8_t> y;
  std::vector<double> s;
  for (size_t i = 0; i < truth_.size(); ++i)
    for (size_t k = 0; k < labels_.size(); ++k) {
      y.push_back(truth_[i][k]);
      s.push_back(scores_[i][k]);
    }
  double a = roc_auc(y, s);
  GRAFT_CHECK(!std::isnan(a), DataError, "metric '", metric_, "': ROC AUC is undefined (all gold cells are equal)");
  return a;
}

double MultilabelStats::average_precision_macro() const {
  require_scores();
  double sum = 0;
  int64_t n = 0;
  for (size_t k = 0; k < labels_.size(); ++k) {
    std::vector<uint8_t> y;
    std::vector<double> s;
    for (size_t i = 0; i < truth_.size(); ++i) {
      y.push_back(truth_[i][k]);
      s.push_back(scores_[i][k]);
    }
    double ap = average_precision(y, s);
    if (!std::isnan(ap)) {
      sum += ap;
      ++n;
    }
  }
  GRAFT_CHECK(n > 0, DataError, "metric '", metric_, "': no label has a gold positive; average precision is undefined");
  return sum / static_cast<double>(n);
}

std::string MultilabelStats::report_text(int digits) const {
  auto fixed = [&](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return std::string(buf);
  };
  size_t width = 12;
  for (const auto& l : labels_) width = std::max(width, l.size());
  auto pad = [](const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; };
  const size_t col = std::max<size_t>(10, static_cast<size_t>(digits) + 6);
  std::string out = pad("", width) + pad("precision", col) + pad("recall", col) + pad("f1-score", col) +
                    pad("support", col) + "\n\n";
  auto row = [&](const std::string& name, const Prf& p) {
    out += pad(name, width) + pad(fixed(p.precision), col) + pad(fixed(p.recall), col) + pad(fixed(p.f1), col) +
           pad(std::to_string(p.support), col) + "\n";
  };
  auto pc = per_class();
  for (size_t k = 0; k < labels_.size(); ++k) row(labels_[k], pc[k]);
  out += "\n";
  row("micro avg", micro());
  row("macro avg", macro());
  row("weighted avg", weighted());
  row("samples avg", samples_average());
  out += cat("\nhamming loss ", fixed(hamming_loss()), ", subset accuracy ", fixed(subset_accuracy()), ", ",
             empty_predictions(), " of ", samples(), " samples without a predicted label\n");
  return out;
}

Value MultilabelMetric::compute(const MetricInput& input) const {
  MultilabelStats s(input, name_);
  double v = 0;
  using M = MultilabelMeasure;
  switch (measure_) {
    case M::f1_micro: v = s.micro().f1; break;
    case M::f1_macro: v = s.macro().f1; break;
    case M::f1_weighted: v = s.weighted().f1; break;
    case M::f1_samples: v = s.samples_average().f1; break;
    case M::precision_micro: v = s.micro().precision; break;
    case M::precision_macro: v = s.macro().precision; break;
    case M::precision_samples: v = s.samples_average().precision; break;
    case M::recall_micro: v = s.micro().recall; break;
    case M::recall_macro: v = s.macro().recall; break;
    case M::recall_samples: v = s.samples_average().recall; break;
    case M::hamming_loss: v = s.hamming_loss(); break;
    case M::subset_accuracy: v = s.subset_accuracy(); break;
    case M::roc_auc_macro: v = s.roc_auc_macro(); break;
    case M::roc_auc_micro: v = s.roc_auc_micro(); break;
    case M::average_precision_macro: v = s.average_precision_macro(); break;
  }
  Value out = Value::object();
  out.set(name_, v);
  return out;
}

std::string MultilabelMetric::report(const MetricInput& input) const {
  return MultilabelStats(input, name_).report_text(4);
}

namespace {

void add(Registrar& r, const std::string& name, MultilabelMeasure m, const std::string& summary,
         std::vector<std::string> aliases = {}) {
  MetricEntry e;
  e.name = name;
  e.summary = summary;
  e.aliases = std::move(aliases);
  e.make_options = [] { return std::make_unique<OptionsHolder<NoOptions>>(); };
  e.make = [name, m](const OptionsBase&, const MetricContext&) -> std::shared_ptr<Metric> {
    return std::make_shared<MultilabelMetric>(name, m);
  };
  r.add(std::move(e));
}

}  // namespace

void register_metrics(Registrar& r) {
  using M = MultilabelMeasure;
  const std::string sets = " of multilabel predictions (label sets)";
  add(r, "ml_f1_micro", M::f1_micro, "F1 of the pooled label decisions" + sets);
  add(r, "ml_f1_macro", M::f1_macro, "unweighted mean of per-label F1" + sets + "; labels never true nor predicted count 0");
  add(r, "ml_f1_weighted", M::f1_weighted, "per-label F1 weighted by gold support" + sets);
  add(r, "ml_f1_samples", M::f1_samples, "mean over samples of each sample's F1" + sets + " (empty prediction: 0)",
      {"f1_samples"});
  add(r, "ml_precision_micro", M::precision_micro, "precision of the pooled label decisions" + sets);
  add(r, "ml_precision_macro", M::precision_macro, "unweighted mean of per-label precision" + sets);
  add(r, "ml_precision_samples", M::precision_samples, "mean over samples of each sample's precision" + sets);
  add(r, "ml_recall_micro", M::recall_micro, "recall of the pooled label decisions" + sets);
  add(r, "ml_recall_macro", M::recall_macro, "unweighted mean of per-label recall" + sets);
  add(r, "ml_recall_samples", M::recall_samples, "mean over samples of each sample's recall" + sets);
  add(r, "hamming_loss", M::hamming_loss, "share of wrong (sample, label) decisions" + sets);
  add(r, "subset_accuracy", M::subset_accuracy, "share of samples whose predicted label set equals the gold set",
      {"exact_match_ratio"});
  add(r, "roc_auc_macro", M::roc_auc_macro,
      "mean per-label ROC AUC of the predicted scores (labels with a constant gold column are left out)");
  add(r, "roc_auc_micro", M::roc_auc_micro, "ROC AUC over every (sample, label) score");
  add(r, "average_precision_macro", M::average_precision_macro,
      "mean per-label average precision (area under the step-wise precision-recall curve) of the scores");
}

}  // namespace graft::plugins::multilabel
