// The multilabel plugin: tsv_multilabel processor, multilabel_classification head and the
// multilabel metrics.
#include "head.h"
#include "multilabel_metrics.h"
#include "processor.h"

#include <graft/plugin.h>

namespace {

void register_multilabel(graft::Registrar& r) {
  using namespace graft::plugins::multilabel;
  r.processor<MultilabelProcessor, ProcessorOptions>(
      "tsv_multilabel",
      "one text (or text pair) and a set of labels (names or GoEmotions-style ids) per row of a TSV/CSV file");
  r.head<MultilabelHead, HeadOptions>(
      "multilabel_classification",
      "multilabel classification: one sigmoid output per label, binary cross-entropy, decision thresholds",
      {"ForSequenceClassification[problem_type=multi_label_classification]"}, {"multilabel"});
  register_metrics(r);
}

}  // namespace

GRAFT_PLUGIN(multilabel, "0.1.0", "task_head",
             "multilabel classification: TSV/CSV label-set processor, sigmoid head, F1/hamming/ROC AUC metrics",
             register_multilabel)
