// The question_answering plugin: squad processor, question_answering head and the official
// SQuAD / KorQuAD metric.
#include "head.h"
#include "squad_metric.h"
#include "squad_processor.h"

#include <graft/plugin.h>

namespace {

void register_question_answering(graft::Registrar& r) {
  using namespace graft::plugins::question_answering;
  r.processor<SquadProcessor, SquadProcessorOptions>(
      "squad", "SQuAD 1.1/2.0 JSON (and FARM's {\"qas\", \"context\"} dicts): one question per record, long "
               "contexts split into overlapping windows");
  r.head<QuestionAnsweringHead, QaHeadOptions>(
      "question_answering", "extractive QA: start/end logits per token, n-best span search across windows",
      {"ForQuestionAnswering"});
  r.metric<SquadMetric, SquadOptions>("squad",
                                      "official SQuAD v1.1 / v2.0 (and KorQuAD v1.0) exact match and F1, in percent");
}

}  // namespace

GRAFT_PLUGIN(question_answering, "0.1.0", "task_head",
             "extractive question answering: SQuAD processor, span head, SQuAD EM/F1 metric",
             register_question_answering)
