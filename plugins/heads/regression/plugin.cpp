// The regression plugin: tsv_regression processor (single texts and text pairs such as STS-B),
// regression head and the regression metrics.
#include "head.h"
#include "processor.h"
#include "regression_metrics.h"

#include <graft/plugin.h>

namespace {

void register_regression(graft::Registrar& r) {
  using namespace graft::plugins::regression;
  r.processor<RegressionProcessor, ProcessorOptions>(
      "tsv_regression", "one text (or text pair) and one or more numeric targets per row of a TSV/CSV file");
  r.head<RegressionHead, HeadOptions>(
      "regression", "regression: one linear output per target, mean squared error, optional standardisation",
      {"ForSequenceClassification[problem_type=regression]"});
  register_metrics(r);
}

}  // namespace

GRAFT_PLUGIN(regression, "0.1.0", "task_head",
             "regression: TSV/CSV numeric-target processor (texts and pairs), MSE head, mse/r2/pearson/spearman",
             register_regression)
