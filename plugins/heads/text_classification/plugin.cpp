// The text_classification plugin: tsv_classification processor, text_classification head and
// the single-label classification metrics.
#include "classification_metrics.h"
#include "head.h"
#include "processor.h"

#include <graft/plugin.h>

namespace {

void register_text_classification(graft::Registrar& r) {
  using namespace graft::plugins::text_classification;
  r.processor<TsvClassificationProcessor, ProcessorOptions>(
      "tsv_classification", "one text (or text pair) and one label per row of a TSV/CSV file with a header row",
      {"text_classification"});
  r.head<TextClassificationHead, HeadOptions>(
      "text_classification", "single-label classification: dropout + linear layer on the pooled output",
      {"ForSequenceClassification"});
  register_metrics(r);
}

}  // namespace

GRAFT_PLUGIN(text_classification, "0.1.0", "task_head",
             "text classification: TSV/CSV processor, classification head, accuracy/F1/MCC metrics",
             register_text_classification)
