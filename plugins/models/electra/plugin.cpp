// The electra plugin: HF ElectraModel (discriminator and generator checkpoints).
#include "electra_model.h"

#include <graft/plugin.h>

namespace {

void register_electra(graft::Registrar& r) {
  using namespace graft::plugins::electra;
  r.language_model<ElectraModel, ElectraConfig>(
      "electra", "ELECTRA encoder (HF ElectraModel: embedding_size-wide embeddings + embeddings_project, no pooler)",
      {"electra"});
}

}  // namespace

GRAFT_PLUGIN(electra, "0.1.0", "model_family", "ELECTRA model family (discriminator and generator encoders)",
             register_electra)
