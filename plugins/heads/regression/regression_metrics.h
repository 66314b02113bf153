#pragma once
// Regression metrics: mse, rmse, mae, r2 (scikit-learn 1.2.1), pearson, spearman (scipy 1.10.1)
// and FARM's pear_spear. Values are numbers, numeric strings ("2.5", as `graft score` reads
// them) or, for several outputs, arrays of numbers (metrics are then averaged over outputs
// with equal weight, as sklearn's multioutput="uniform_average").
#include <graft/metric.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::regression {

class RegressionData {
 public:
  RegressionData(const MetricInput& input, const std::string& metric);
  size_t samples() const { return n_; }
  size_t outputs() const { return gold_.size(); }
  /// Column `k` of the gold / predicted values.
  const std::vector<double>& gold(size_t k) const { return gold_[k]; }
  const std::vector<double>& pred(size_t k) const { return pred_[k]; }

 private:
  size_t n_ = 0;
  std::vector<std::vector<double>> gold_, pred_;  ///< [output][sample]
};

double mean_squared_error(const std::vector<double>& y, const std::vector<double>& p);
double mean_absolute_error(const std::vector<double>& y, const std::vector<double>& p);
/// sklearn r2_score(y, p): 1 - SS_res / SS_tot; a constant y gives 1.0 for a perfect fit, else 0.0.
double r2_score(const std::vector<double>& y, const std::vector<double>& p);
/// Pearson's r; NaN when either side is constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
/// Spearman's rho (Pearson of average ranks).
double spearman(const std::vector<double>& x, const std::vector<double>& y);

enum class RegressionMeasure { mse, rmse, mae, r2, pearson, spearman, pear_spear };

class RegressionMetric : public Metric {
 public:
  RegressionMetric(std::string name, RegressionMeasure measure) : name_(std::move(name)), measure_(measure) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;

 private:
  std::string name_;
  RegressionMeasure measure_;
};

void register_metrics(Registrar& r);

}  // namespace graft::plugins::regression
