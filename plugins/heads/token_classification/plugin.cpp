// The token_classification plugin: conll processor, token_classification head and the seq_f1
// (seqeval) metric.
#include "conll_processor.h"
#include "head.h"
#include "seqeval.h"

#include <graft/plugin.h>

namespace {

void register_token_classification(graft::Registrar& r) {
  using namespace graft::plugins::token_classification;
  r.processor<ConllProcessor, ConllOptions>(
      "conll", "CoNLL-style column files (and GermEval 2014 TSV) as pre-split words with one tag per word",
      {"ner"});
  r.head<TokenClassificationHead, HeadOptions>(
      "token_classification", "a tag per word (NER, POS): dropout + linear layer on every token",
      {"ForTokenClassification"});
  r.metric<SeqF1Metric, SeqF1Options>("seq_f1",
                                      "entity-level precision / recall / F1 with seqeval rules (default or strict IOB2)");
  r.metric<SeqF1StrictMetric>("seq_f1_strict",
                              "seqeval's strict IOB2 mode (entities must start with B-X) as seq_strict_* keys");
}

}  // namespace

GRAFT_PLUGIN(token_classification, "0.1.0", "task_head",
             "token classification (NER): CoNLL/GermEval processor, token head, seqeval metric",
             register_token_classification)
