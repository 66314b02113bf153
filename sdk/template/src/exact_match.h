#pragma once
// exact_match: the fraction of predictions equal to their gold value.
#include <graft/metric.h>
#include <graft/options.h>

namespace hello {

struct ExactMatchOptions {
  bool ignore_case = false;  ///< compare strings case-insensitively (ASCII)
  std::string key = "exact_match";
  void visit(graft::OptionVisitor& v) {
    v.optional("ignore_case", ignore_case, "compare strings case-insensitively (ASCII letters)");
    v.optional("key", key, "name of the result in the metrics table", graft::one_of({"exact_match", "em"}));
  }
};

class ExactMatch final : public graft::Metric {
 public:
  explicit ExactMatch(const ExactMatchOptions& options) : options_(options) {}
  /// {"<key>": matches / n}; DataError when gold and pred differ in length.
  graft::Value compute(const graft::MetricInput& input) const override;

 private:
  ExactMatchOptions options_;
};

}  // namespace hello
