// The albert plugin: HF AlbertModel.
#include "albert_model.h"

#include <graft/plugin.h>

namespace {

void register_albert(graft::Registrar& r) {
  using namespace graft::plugins::albert;
  r.language_model<AlbertModel, AlbertConfig>(
      "albert", "ALBERT encoder (HF AlbertModel: factorized embeddings, shared layer groups, tanh pooler)", {"albert"});
}

}  // namespace

GRAFT_PLUGIN(albert, "0.1.0", "model_family", "ALBERT model family", register_albert)
