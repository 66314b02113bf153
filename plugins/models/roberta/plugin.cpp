// The roberta plugin: HF RobertaModel, XLMRobertaModel and CamembertModel.
#include "roberta_model.h"

#include <graft/plugin.h>

namespace {

void register_roberta(graft::Registrar& r) {
  using namespace graft::plugins::roberta;
  r.language_model<FlavouredModel<Flavour::roberta>, FlavouredConfig<Flavour::roberta>>(
      "roberta", "RoBERTa encoder (HF RobertaModel: positions from padding_idx + 1, one token type)", {"roberta"});
  r.language_model<FlavouredModel<Flavour::xlm_roberta>, FlavouredConfig<Flavour::xlm_roberta>>(
      "xlm_roberta", "XLM-RoBERTa encoder (HF XLMRobertaModel; RoBERTa layout)", {"xlm-roberta"});
  r.language_model<FlavouredModel<Flavour::camembert>, FlavouredConfig<Flavour::camembert>>(
      "camembert", "CamemBERT encoder (HF CamembertModel; RoBERTa layout)", {"camembert"});
}

}  // namespace

GRAFT_PLUGIN(roberta, "0.1.0", "model_family", "RoBERTa model family: roberta, xlm-roberta, camembert", register_roberta)
