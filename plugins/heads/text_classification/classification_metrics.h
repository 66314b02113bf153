#pragma once
// Single-label classification metrics (scikit-learn 1.2 semantics, FARM names). The math lives
// here once; every registered metric is a thin view on `ClassificationStats`.
#include <graft/metric.h>
#include <graft/options.h>
#include <graft/registrar.h>

#include <cstdint>
#include <string>
#include <vector>

namespace graft::plugins::text_classification {

/// Per-class precision / recall / F1 / support in label order.
struct ClassScores {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
};

/// Averages of one kind ("micro", "macro", "weighted").
struct AverageScores {
  double precision = 0, recall = 0, f1 = 0;
};

/// The confusion matrix of gold vs predicted labels and everything derived from it.
/// Undefined ratios (0/0) are 0.0, and every class of the label list takes part in the macro
/// averages even when it never occurs (scikit-learn 1.2.1, zero_division="warn").
class ClassificationStats {
 public:
  /// `labels` fixes the class order; empty = the sorted union of gold and predicted values
  /// (integers sort numerically, strings by code point, as sklearn's unique_labels does).
  /// Values are label strings or integer indices into `labels`. DataError on a value that is
  /// not in the label list, a size mismatch, or no samples; `metric` names the caller.
  ClassificationStats(const MetricInput& input, const std::string& metric);

  const std::vector<std::string>& labels() const { return labels_; }
  /// [true][predicted] counts, label order.
  const std::vector<std::vector<int64_t>>& confusion() const { return cm_; }
  int64_t samples() const { return n_; }

  double accuracy() const;
  std::vector<ClassScores> per_class() const;
  AverageScores micro() const;
  AverageScores macro() const;
  AverageScores weighted() const;
  /// Matthews correlation coefficient (multiclass form; 0 when undefined).
  double mcc() const;
  /// Precision/recall/F1 of one class (binary average with `pos_label`).
  ClassScores binary(const std::string& pos_label) const;
  int64_t index_of(const std::string& label) const;  ///< -1 when absent

  /// sklearn `classification_report(..., labels=label_list, digits=digits)` text.
  std::string report_text(int digits = 4) const;
  /// The confusion matrix as an aligned text table.
  std::string confusion_text() const;

 private:
  std::vector<std::string> labels_;
  std::vector<std::vector<int64_t>> cm_;
  int64_t n_ = 0;
  /// True unless the label list names a class that neither gold nor prediction contain
  /// (sklearn then prints "micro avg" instead of "accuracy").
  bool micro_is_accuracy_ = true;
};

/// Which number a simple classification metric reports.
enum class ClassificationMeasure { acc, f1_macro, f1_micro, f1_weighted, mcc, precision_macro, recall_macro };

/// acc, f1_macro, ...: compute() = {"<name>": value}; report() = classification report + confusion matrix.
class ClassificationMetric : public Metric {
 public:
  ClassificationMetric(std::string name, ClassificationMeasure measure) : name_(std::move(name)), measure_(measure) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;

 private:
  std::string name_;
  ClassificationMeasure measure_;
};

struct AccF1Options {
  std::string pos_label;
  void visit(OptionVisitor& v) {
    v.optional("pos_label", pos_label,
               "the positive class for the binary F1; empty = the second label of the label list "
               "(FARM's pos_label=1 on label ids)");
  }
};

/// FARM's acc_f1 on a binary task: {"acc", "f1" (binary, positive class), "acc_and_f1" (their mean)}.
class AccF1Metric : public Metric {
 public:
  explicit AccF1Metric(const AccF1Options& options) : options_(options) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;

 private:
  AccF1Options options_;
};

/// Registers acc, f1_macro, f1_micro, f1_weighted, mcc, acc_f1, precision_macro, recall_macro.
void register_metrics(Registrar& r);

}  // namespace graft::plugins::text_classification
