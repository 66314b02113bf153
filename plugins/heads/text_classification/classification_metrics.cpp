#include "classification_metrics.h"

#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace graft::plugins::text_classification {

namespace {

/// Code points in a UTF-8 string (Python's len(), which sklearn's report widths use).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string pad_left(const std::string& s, size_t width) {
  size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// sklearn's _prf_divide with zero_division = "warn": 0/0 → 0.
double ratio(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

/// sklearn 1.2.1's F-beta (beta = 1) from precision and recall.
double f1_from(double p, double r) {
  double denom = p + r;
  if (denom == 0.0) denom = 1.0;
  return 2.0 * p * r / denom;
}

std::string value_text(const Value& v) {
  if (v.is_string()) return "'" + v.as_string() + "'";
  return v.dump_json();
}

}  // namespace

ClassificationStats::ClassificationStats(const MetricInput& input, const std::string& metric) {
  const auto& gold = input.gold;
  const auto& pred = input.pred;
  GRAFT_CHECK(gold.size() == pred.size(), DataError, "metric '", metric, "': ", gold.size(), " gold values but ",
              pred.size(), " predictions; they must pair up one to one");
  GRAFT_CHECK(!gold.empty(), DataError, "metric '", metric, "': no samples to score");

  auto describe = [&](const char* side, size_t i) { return cat(side, " value ", i, " (0-based)"); };
  // Values read from files (graft score) carry their file:line; empty lines and label sets
  // (multilabel, which has its own ml_* metrics) are rejected with that location.
  for (const auto* side : {&gold, &pred})
    for (size_t i = 0; i < side->size(); ++i) {
      const Value& v = (*side)[i];
      const char* name = side == &gold ? "gold" : "predicted";
      const std::string at = v.location().file.empty() ? describe(name, i) : v.location().str();
      if (v.is_string() && v.as_string().empty())
        throw DataError(cat("metric '", metric, "': ", at, ": empty line; expected one label per line"));
      if (v.is_array() || (v.is_object() && v.contains("labels")))
        throw DataError(cat("metric '", metric, "': ", at, ": a set of labels; '", metric,
                            "' scores single-label predictions (multilabel predictions are scored by ml_f1_micro, ml_f1_macro, "
                            "ml_f1_samples, hamming_loss, subset_accuracy, ...)"));
    }
  labels_ = input.labels;
  if (labels_.empty()) {
    // sklearn unique_labels: sorted union of both sides; one type only.
    bool any_int = false, any_string = false;
    std::set<int64_t> ints;
    std::set<std::string> strings;
    for (const auto* side : {&gold, &pred})
      for (size_t i = 0; i < side->size(); ++i) {
        const Value& v = (*side)[i];
        if (v.is_int()) {
          any_int = true;
          ints.insert(v.as_int());
        } else if (v.is_string()) {
          any_string = true;
          strings.insert(v.as_string());
        } else {
          throw DataError(cat("metric '", metric, "': ", describe(side == &gold ? "gold" : "predicted", i),
                              " is a ", v.type_name(), "; expected a label string"));
        }
      }
    GRAFT_CHECK(!(any_int && any_string), DataError, "metric '", metric,
                "': gold and predicted values mix label strings and integers; without a label list they "
                "must be all strings or all integers");
    if (any_int)
      for (int64_t x : ints) labels_.push_back(std::to_string(x));
    else
      labels_.assign(strings.begin(), strings.end());
  }
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < labels_.size(); ++i) {
    GRAFT_CHECK(index.emplace(labels_[i], static_cast<int64_t>(i)).second, DataError, "metric '", metric,
                "': label '", labels_[i], "' appears twice in the label list");
  }
  auto resolve = [&](const Value& v, const char* side, size_t i) -> int64_t {
    if (v.is_string()) {
      auto it = index.find(v.as_string());
      if (it != index.end()) return it->second;
    } else if (v.is_int() && !input.labels.empty()) {
      int64_t id = v.as_int();
      if (id >= 0 && id < static_cast<int64_t>(labels_.size())) return id;
    } else if (v.is_int()) {
      auto it = index.find(std::to_string(v.as_int()));
      if (it != index.end()) return it->second;
    }
    std::string known;
    for (size_t k = 0; k < labels_.size() && k < 20; ++k) known += (k ? ", " : "") + labels_[k];
    if (labels_.size() > 20) known += ", ...";
    throw DataError(cat("metric '", metric, "': ", describe(side, i), " ", value_text(v),
                        " is not a label of the label list (", known, ")",
                        v.is_int() ? " nor an index into it" : ""));
  };
  size_t k = labels_.size();
  cm_.assign(k, std::vector<int64_t>(k, 0));
  std::vector<bool> seen(k, false);
  for (size_t i = 0; i < gold.size(); ++i) {
    int64_t t = resolve(gold[i], "gold", i);
    int64_t p = resolve(pred[i], "predicted", i);
    ++cm_[t][p];
    seen[t] = seen[p] = true;
  }
  n_ = static_cast<int64_t>(gold.size());
  micro_is_accuracy_ = std::all_of(seen.begin(), seen.end(), [](bool b) { return b; });
}

int64_t ClassificationStats::index_of(const std::string& label) const {
  for (size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] == label) return static_cast<int64_t>(i);
  return -1;
}

double ClassificationStats::accuracy() const {
  int64_t correct = 0;
  for (size_t i = 0; i < cm_.size(); ++i) correct += cm_[i][i];
  return static_cast<double>(correct) / static_cast<double>(n_);
}

std::vector<ClassScores> ClassificationStats::per_class() const {
  size_t k = labels_.size();
  std::vector<ClassScores> out(k);
  for (size_t c = 0; c < k; ++c) {
    int64_t tp = cm_[c][c], true_sum = 0, pred_sum = 0;
    for (size_t j = 0; j < k; ++j) {
      true_sum += cm_[c][j];
      pred_sum += cm_[j][c];
    }
    out[c].precision = ratio(static_cast<double>(tp), static_cast<double>(pred_sum));
    out[c].recall = ratio(static_cast<double>(tp), static_cast<double>(true_sum));
    out[c].f1 = f1_from(out[c].precision, out[c].recall);
    out[c].support = true_sum;
  }
  return out;
}

AverageScores ClassificationStats::micro() const {
  int64_t tp = 0, true_sum = 0, pred_sum = 0;
  size_t k = labels_.size();
  for (size_t c = 0; c < k; ++c) {
    tp += cm_[c][c];
    for (size_t j = 0; j < k; ++j) {
      true_sum += cm_[c][j];
      pred_sum += cm_[j][c];
    }
  }
  AverageScores a;
  a.precision = ratio(static_cast<double>(tp), static_cast<double>(pred_sum));
  a.recall = ratio(static_cast<double>(tp), static_cast<double>(true_sum));
  a.f1 = f1_from(a.precision, a.recall);
  return a;
}

AverageScores ClassificationStats::macro() const {
  auto pc = per_class();
  AverageScores a;
  for (const auto& c : pc) {
    a.precision += c.precision;
    a.recall += c.recall;
    a.f1 += c.f1;
  }
  double k = static_cast<double>(pc.size());
  a.precision /= k;
  a.recall /= k;
  a.f1 /= k;
  return a;
}

AverageScores ClassificationStats::weighted() const {
  auto pc = per_class();
  AverageScores a;
  double total = 0;
  for (const auto& c : pc) {
    double w = static_cast<double>(c.support);
    a.precision += c.precision * w;
    a.recall += c.recall * w;
    a.f1 += c.f1 * w;
    total += w;
  }
  if (total == 0.0) return AverageScores{};
  a.precision /= total;
  a.recall /= total;
  a.f1 /= total;
  return a;
}

double ClassificationStats::mcc() const {
  size_t k = labels_.size();
  std::vector<double> t_sum(k, 0.0), p_sum(k, 0.0);
  double correct = 0;
  for (size_t i = 0; i < k; ++i) {
    correct += static_cast<double>(cm_[i][i]);
    for (size_t j = 0; j < k; ++j) {
      t_sum[i] += static_cast<double>(cm_[i][j]);
      p_sum[j] += static_cast<double>(cm_[i][j]);
    }
  }
  double n = 0, tp = 0, pp = 0, tt = 0;
  for (size_t i = 0; i < k; ++i) {
    n += p_sum[i];
    tp += t_sum[i] * p_sum[i];
    pp += p_sum[i] * p_sum[i];
    tt += t_sum[i] * t_sum[i];
  }
  double cov_ytyp = correct * n - tp;
  double cov_ypyp = n * n - pp;
  double cov_ytyt = n * n - tt;
  if (cov_ypyp * cov_ytyt == 0.0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

ClassScores ClassificationStats::binary(const std::string& pos_label) const {
  int64_t c = index_of(pos_label);
  GRAFT_CHECK(c >= 0, DataError, "positive label '", pos_label, "' is not in the label list");
  return per_class()[static_cast<size_t>(c)];
}

std::string ClassificationStats::report_text(int digits) const {
  static const std::string kLongest = "weighted avg";
  size_t width = std::max<size_t>(kLongest.size(), static_cast<size_t>(digits));
  for (const auto& l : labels_) width = std::max(width, display_width(l));
  auto num = [&](double v) { return " " + pad_left(fixed(v, digits), 9); };
  auto count = [&](int64_t v) { return " " + pad_left(std::to_string(v), 9); };

  std::string out = pad_left("", width) + " ";
  for (const char* h : {"precision", "recall", "f1-score", "support"}) out += " " + pad_left(h, 9);
  out += "\n\n";
  auto pc = per_class();
  int64_t total = 0;
  for (size_t c = 0; c < labels_.size(); ++c) {
    out += pad_left(labels_[c], width) + " " + num(pc[c].precision) + num(pc[c].recall) + num(pc[c].f1) +
           count(pc[c].support) + "\n";
    total += pc[c].support;
  }
  out += "\n";
  auto row = [&](const std::string& heading, const AverageScores& a) {
    out += pad_left(heading, width) + " " + num(a.precision) + num(a.recall) + num(a.f1) + count(total) + "\n";
  };
  AverageScores mi = micro();
  if (micro_is_accuracy_)
    out += pad_left("accuracy", width) + " " + " " + pad_left("", 9) + " " + pad_left("", 9) + num(mi.f1) +
           count(total) + "\n";
  else
    row("micro avg", mi);
  row("macro avg", macro());
  row("weighted avg", weighted());
  return out;
}

std::string ClassificationStats::confusion_text() const {
  size_t name_width = std::string("true \\ predicted").size();
  for (const auto& l : labels_) name_width = std::max(name_width, display_width(l));
  std::vector<size_t> col(labels_.size());
  for (size_t j = 0; j < labels_.size(); ++j) {
    col[j] = display_width(labels_[j]);
    for (size_t i = 0; i < labels_.size(); ++i) col[j] = std::max(col[j], std::to_string(cm_[i][j]).size());
  }
  std::string out = "confusion matrix (rows: true label, columns: predicted label)\n";
  out += pad_left("true \\ predicted", name_width);
  for (size_t j = 0; j < labels_.size(); ++j) out += "  " + pad_left(labels_[j], col[j]);
  out += "\n";
  for (size_t i = 0; i < labels_.size(); ++i) {
    out += pad_left(labels_[i], name_width);
    for (size_t j = 0; j < labels_.size(); ++j) out += "  " + pad_left(std::to_string(cm_[i][j]), col[j]);
    out += "\n";
  }
  return out;
}

// --- metrics ------------------------------------------------------------------------------

namespace {
std::string full_report(const ClassificationStats& s) { return s.report_text(4) + "\n" + s.confusion_text(); }
}  // namespace

Value ClassificationMetric::compute(const MetricInput& input) const {
  ClassificationStats s(input, name_);
  double v = 0;
  switch (measure_) {
    case ClassificationMeasure::acc: v = s.accuracy(); break;
    case ClassificationMeasure::f1_macro: v = s.macro().f1; break;
    case ClassificationMeasure::f1_micro: v = s.micro().f1; break;
    case ClassificationMeasure::f1_weighted: v = s.weighted().f1; break;
    case ClassificationMeasure::mcc: v = s.mcc(); break;
    case ClassificationMeasure::precision_macro: v = s.macro().precision; break;
    case ClassificationMeasure::recall_macro: v = s.macro().recall; break;
  }
  Value out = Value::object();
  out.set(name_, v);
  return out;
}

std::string ClassificationMetric::report(const MetricInput& input) const {
  return full_report(ClassificationStats(input, name_));
}

namespace {
std::string positive_label(const ClassificationStats& s, const AccF1Options& o) {
  if (!o.pos_label.empty()) {
    if (s.index_of(o.pos_label) < 0) {
      std::string known;
      for (const auto& l : s.labels()) known += (known.empty() ? "" : ", ") + l;
      throw ConfigError(cat("metric 'acc_f1': pos_label '", o.pos_label, "' is not one of the labels (", known, ")"));
    }
    return o.pos_label;
  }
  GRAFT_CHECK(s.labels().size() == 2, DataError, "metric 'acc_f1' is binary: it needs exactly 2 labels, got ",
              s.labels().size(), "; use f1_macro/f1_micro for multiclass tasks or set pos_label");
  return s.labels()[1];
}
}  // namespace

Value AccF1Metric::compute(const MetricInput& input) const {
  ClassificationStats s(input, "acc_f1");
  double acc = s.accuracy();
  double f1 = s.binary(positive_label(s, options_)).f1;
  Value out = Value::object();
  out.set("acc", acc);
  out.set("f1", f1);
  out.set("acc_and_f1", (acc + f1) / 2.0);
  return out;
}

std::string AccF1Metric::report(const MetricInput& input) const {
  return full_report(ClassificationStats(input, "acc_f1"));
}

namespace {
template <ClassificationMeasure M>
struct SimpleMetric : ClassificationMetric {
  static const char* name_of() {
    switch (M) {
      case ClassificationMeasure::acc: return "acc";
      case ClassificationMeasure::f1_macro: return "f1_macro";
      case ClassificationMeasure::f1_micro: return "f1_micro";
      case ClassificationMeasure::f1_weighted: return "f1_weighted";
      case ClassificationMeasure::mcc: return "mcc";
      case ClassificationMeasure::precision_macro: return "precision_macro";
      case ClassificationMeasure::recall_macro: return "recall_macro";
    }
    return "?";
  }
  explicit SimpleMetric(const NoOptions&) : ClassificationMetric(name_of(), M) {}
};
}  // namespace

void register_metrics(Registrar& r) {
  using CM = ClassificationMeasure;
  r.metric<SimpleMetric<CM::acc>>("acc", "accuracy: share of predictions equal to the gold label");
  r.metric<SimpleMetric<CM::f1_macro>>("f1_macro",
                                       "unweighted mean of per-class F1 over the label list (absent classes count 0)");
  r.metric<SimpleMetric<CM::f1_micro>>("f1_micro", "F1 of the pooled counts of all classes (= accuracy for single-label)");
  r.metric<SimpleMetric<CM::f1_weighted>>("f1_weighted", "per-class F1 averaged with the gold support as weight");
  r.metric<SimpleMetric<CM::mcc>>("mcc", "Matthews correlation coefficient (multiclass form)");
  r.metric<AccF1Metric, AccF1Options>("acc_f1", "FARM's acc_f1: accuracy, binary F1 of the positive class, and their mean");
  r.metric<SimpleMetric<CM::precision_macro>>("precision_macro", "unweighted mean of per-class precision");
  r.metric<SimpleMetric<CM::recall_macro>>("recall_macro", "unweighted mean of per-class recall");
}

}  // namespace graft::plugins::text_classification
