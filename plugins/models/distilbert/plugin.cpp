// The distilbert plugin: HF DistilBertModel.
#include "distilbert_model.h"

#include <graft/plugin.h>

namespace {

void register_distilbert(graft::Registrar& r) {
  using namespace graft::plugins::distilbert;
  r.language_model<DistilBertModel, DistilBertConfig>(
      "distilbert", "DistilBERT encoder (HF DistilBertModel: no token types, no pooler)", {"distilbert"});
}

}  // namespace

GRAFT_PLUGIN(distilbert, "0.1.0", "model_family", "DistilBERT model family", register_distilbert)
