// The dpr plugin: HF DPRQuestionEncoder and DPRContextEncoder (model_type "dpr").
#include "dpr_model.h"

#include <graft/plugin.h>

namespace {

void register_dpr(graft::Registrar& r) {
  using namespace graft::plugins::dpr;
  r.language_model<DprEncoder, DprConfig>(
      "dpr", "DPR question/context encoder (HF DPRQuestionEncoder / DPRContextEncoder: BERT, pooled = [CLS], encode_proj)",
      {"dpr"});
}

}  // namespace

GRAFT_PLUGIN(dpr, "0.1.0", "model_family", "DPR bi-encoder towers (question and context encoders)", register_dpr)
