#pragma once
// Multilabel metrics (scikit-learn 1.2.1 semantics on multi-hot matrices). The math lives in
// MultilabelStats; every registered metric is a thin view on it.
#include <graft/metric.h>
#include <graft/registrar.h>

#include <cstdint>
#include <string>
#include <vector>

namespace graft::plugins::multilabel {

/// Gold and predicted label sets as multi-hot matrices (plus predicted scores when given).
///
/// Accepted values, per sample (gold and predicted alike):
///  * an array of label strings (or of integer indices into the label list),
///  * a string of labels separated by `,` ("anger,joy"; "" = no label) — what `graft score` reads,
///  * an object {"labels": [...], "scores": [...] | {label: score}} — what the multilabel head
///    predicts; "scores" (one per label, label order) are needed by roc_auc_* / average_precision.
/// Label order: MetricInput::labels, else the sorted union of every label seen.
class MultilabelStats {
 public:
  MultilabelStats(const MetricInput& input, const std::string& metric);

  const std::vector<std::string>& labels() const { return labels_; }
  size_t samples() const { return truth_.size(); }
  bool has_scores() const { return has_scores_; }

  struct Prf {
    double precision = 0, recall = 0, f1 = 0;
    int64_t support = 0;
  };
  std::vector<Prf> per_class() const;
  Prf micro() const;
  Prf macro() const;
  Prf weighted() const;
  Prf samples_average() const;
  double hamming_loss() const;
  double subset_accuracy() const;
  int64_t empty_predictions() const;
  /// Per-class ROC AUC (rank statistic, ties count 1/2); NaN for a class whose gold column is
  /// constant. DataError without scores.
  std::vector<double> roc_auc_per_class() const;
  /// Mean over classes where ROC AUC is defined (= sklearn's macro when all are). DataError when
  /// none is.
  double roc_auc_macro() const;
  double roc_auc_micro() const;
  /// sklearn average_precision_score per class, macro mean over classes with a positive.
  double average_precision_macro() const;
  /// sklearn-style classification report (per label, micro/macro/weighted/samples avg).
  std::string report_text(int digits = 4) const;

 private:
  void require_scores() const;
  std::string metric_;
  std::vector<std::string> labels_;
  std::vector<std::vector<uint8_t>> truth_, pred_;
  std::vector<std::vector<double>> scores_;
  bool has_scores_ = false;
};

enum class MultilabelMeasure {
  f1_micro, f1_macro, f1_weighted, f1_samples,
  precision_micro, precision_macro, precision_samples,
  recall_micro, recall_macro, recall_samples,
  hamming_loss, subset_accuracy, roc_auc_macro, roc_auc_micro, average_precision_macro
};

class MultilabelMetric : public Metric {
 public:
  MultilabelMetric(std::string name, MultilabelMeasure measure) : name_(std::move(name)), measure_(measure) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;

 private:
  std::string name_;
  MultilabelMeasure measure_;
};

/// Registers ml_f1_micro, ml_f1_macro, ml_f1_weighted, ml_f1_samples, ml_precision_*, ml_recall_*,
/// hamming_loss, subset_accuracy, roc_auc_macro, roc_auc_micro, average_precision_macro.
void register_metrics(Registrar& r);

}  // namespace graft::plugins::multilabel
