#pragma once
// Metric: compares gold and predicted values of one task.
#include <graft/export.h>
#include <graft/value.h>

#include <string>
#include <vector>

namespace graft {

struct MetricInput {
  std::vector<std::string> labels;  ///< label list in index order (classification), may be empty
  std::vector<Value> gold;
  std::vector<Value> pred;
};

class GRAFT_SDK_API Metric {
 public:
  virtual ~Metric();
  /// Object of name → number (e.g. {"f1_macro": 0.83}); may add nested detail objects.
  virtual Value compute(const MetricInput& input) const = 0;
  /// Optional human-readable report (per-class table, confusion matrix).
  virtual std::string report(const MetricInput& input) const { (void)input; return {}; }
};

}  // namespace graft
