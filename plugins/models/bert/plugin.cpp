// The bert plugin: HF BertModel (model_type "bert"; MiniLM checkpoints are plain BERT).
#include "bert_model.h"

#include <graft/plugin.h>

namespace {

void register_bert(graft::Registrar& r) {
  using namespace graft::plugins::bert;
  r.language_model<BertModel, BertConfig>("bert", "BERT encoder (HF BertModel; also MiniLM and other BERT-layout checkpoints)",
                                          {"bert"});
}

}  // namespace

GRAFT_PLUGIN(bert, "0.1.0", "model_family", "BERT model family (HF BertModel layout)", register_bert)
