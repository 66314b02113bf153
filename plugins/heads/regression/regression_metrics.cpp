#include "regression_metrics.h"

#include "../common/table.h"

#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace graft::plugins::regression {

namespace {

std::string where(const Value& v, const char* side, size_t i) {
  if (!v.location().file.empty()) return v.location().str();
  return cat(side, " value ", i, " (0-based)");
}

std::vector<double> numbers(const Value& v, const char* side, size_t i, const std::string& metric) {
  auto bad = [&](const std::string& what) {
    return DataError(cat("metric '", metric, "': ", where(v, side, i), ": ", what));
  };
  auto one = [&](const Value& x) -> double {
    if (x.is_number()) {
      double d = x.as_double();
      if (!std::isfinite(d)) throw bad("not a finite number");
      return d;
    }
    if (x.is_string()) {
      auto d = common::parse_number(x.as_string());
      if (!d) throw bad(cat("'", x.as_string(), "' is not a number"));
      return *d;
    }
    throw bad(cat("expected a number, got a ", x.type_name()));
  };
  if (v.is_array()) {
    std::vector<double> out;
    for (const auto& x : v.as_array()) out.push_back(one(x));
    if (out.empty()) throw bad("empty list of numbers");
    return out;
  }
  if (v.is_string() && v.as_string().find(',') != std::string::npos) {
    std::vector<double> out;
    for (const auto& item : common::split_trimmed(v.as_string(), ",")) out.push_back(one(Value(item)));
    return out;
  }
  return {one(v)};
}

double mean_of(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

RegressionData::RegressionData(const MetricInput& input, const std::string& metric) {
  GRAFT_CHECK(input.gold.size() == input.pred.size(), DataError, "metric '", metric, "': ", input.gold.size(),
              " gold values but ", input.pred.size(), " predictions; they must pair up one to one");
  GRAFT_CHECK(!input.gold.empty(), DataError, "metric '", metric, "': no samples to score");
  n_ = input.gold.size();
  for (size_t i = 0; i < n_; ++i) {
    auto g = numbers(input.gold[i], "gold", i, metric);
    auto p = numbers(input.pred[i], "predicted", i, metric);
    if (i == 0) {
      gold_.resize(g.size());
      pred_.resize(g.size());
    }
    GRAFT_CHECK(g.size() == gold_.size(), DataError, "metric '", metric, "': ", where(input.gold[i], "gold", i), ": ",
                g.size(), " numbers, but the first value had ", gold_.size());
    GRAFT_CHECK(p.size() == gold_.size(), DataError, "metric '", metric, "': ", where(input.pred[i], "predicted", i),
                ": ", p.size(), " numbers, but the gold values have ", gold_.size());
    for (size_t k = 0; k < g.size(); ++k) {
      gold_[k].push_back(g[k]);
      pred_[k].push_back(p[k]);
    }
  }
}

double mean_squared_error(const std::vector<double>& y, const std::vector<double>& p) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += (y[i] - p[i]) * (y[i] - p[i]);
  return s / static_cast<double>(y.size());
}

double mean_absolute_error(const std::vector<double>& y, const std::vector<double>& p) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += std::abs(y[i] - p[i]);
  return s / static_cast<double>(y.size());
}

double r2_score(const std::vector<double>& y, const std::vector<double>& p) {
  const double m = mean_of(y);
  double res = 0, tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    res += (y[i] - p[i]) * (y[i] - p[i]);
    tot += (y[i] - m) * (y[i] - m);
  }
  if (tot == 0.0) return res == 0.0 ? 1.0 : 0.0;
  return 1.0 - res / tot;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = mean_of(x), my = mean_of(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0.0 || syy == 0.0) return std::numeric_limits<double>::quiet_NaN();
  double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
  return std::max(-1.0, std::min(1.0, r));
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson(average_ranks(x), average_ranks(y));
}

Value RegressionMetric::compute(const MetricInput& input) const {
  RegressionData d(input, name_);
  const double K = static_cast<double>(d.outputs());
  auto average = [&](auto fn) {
    double s = 0;
    for (size_t k = 0; k < d.outputs(); ++k) s += fn(d.gold(k), d.pred(k));
    return s / K;
  };
  auto correlation = [&](auto fn, const char* what) {
    double v = average(fn);
    GRAFT_CHECK(!std::isnan(v), DataError, "metric '", name_, "': ", what,
                " is undefined because the gold or the predicted values are all equal");
    return v;
  };
  Value out = Value::object();
  using M = RegressionMeasure;
  switch (measure_) {
    case M::mse: out.set(name_, average(mean_squared_error)); break;
    case M::rmse: out.set(name_, average([](const auto& y, const auto& p) { return std::sqrt(mean_squared_error(y, p)); })); break;
    case M::mae: out.set(name_, average(mean_absolute_error)); break;
    case M::r2: out.set(name_, average(r2_score)); break;
    case M::pearson: out.set(name_, correlation(pearson, "Pearson's r")); break;
    case M::spearman: out.set(name_, correlation(spearman, "Spearman's rho")); break;
    case M::pear_spear: {
      const double p = correlation(pearson, "Pearson's r"), s = correlation(spearman, "Spearman's rho");
      out.set("pearson", p);
      out.set("spearman", s);
      out.set("corr", (p + s) / 2.0);
      break;
    }
  }
  return out;
}

std::string RegressionMetric::report(const MetricInput& input) const {
  RegressionData d(input, name_);
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-12s %10s %10s %10s %10s %10s %10s\n", "output", "mse", "rmse", "mae", "r2",
                "pearson", "spearman");
  out += buf;
  for (size_t k = 0; k < d.outputs(); ++k) {
    const auto &y = d.gold(k), &p = d.pred(k);
    const double mse = mean_squared_error(y, p);
    std::snprintf(buf, sizeof buf, "%-12zu %10.4f %10.4f %10.4f %10.4f %10.4f %10.4f\n", k, mse, std::sqrt(mse),
                  mean_absolute_error(y, p), r2_score(y, p), pearson(y, p), spearman(y, p));
    out += buf;
  }
  out += cat(d.samples(), " samples\n");
  return out;
}

namespace {

void add(Registrar& r, const std::string& name, RegressionMeasure m, const std::string& summary,
         std::vector<std::string> aliases = {}) {
  MetricEntry e;
  e.name = name;
  e.summary = summary;
  e.aliases = std::move(aliases);
  e.make_options = [] { return std::make_unique<OptionsHolder<NoOptions>>(); };
  e.make = [name, m](const OptionsBase&, const MetricContext&) -> std::shared_ptr<Metric> {
    return std::make_shared<RegressionMetric>(name, m);
  };
  r.add(std::move(e));
}

}  // namespace

void register_metrics(Registrar& r) {
  using M = RegressionMeasure;
  add(r, "mse", M::mse, "mean squared error of numeric predictions");
  add(r, "rmse", M::rmse, "root mean squared error of numeric predictions");
  add(r, "mae", M::mae, "mean absolute error of numeric predictions");
  add(r, "r2", M::r2, "coefficient of determination r2_score(gold, predicted) as scikit-learn (FARM swaps the "
                      "arguments; graft does not)");
  add(r, "pearson", M::pearson, "Pearson correlation of gold and predicted numbers");
  add(r, "spearman", M::spearman, "Spearman rank correlation of gold and predicted numbers (ties: average ranks)");
  add(r, "pear_spear", M::pear_spear, "FARM's pear_spear: {pearson, spearman, corr = their mean}");
}

}  // namespace graft::plugins::regression
