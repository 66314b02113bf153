// The language_modeling plugin: masked_lm (HF *ForMaskedLM of every family) and
// electra_discriminator (HF ElectraForPreTraining) heads.
#include "heads.h"

#include <graft/plugin.h>

namespace {

void register_language_modeling(graft::Registrar& r) {
  using namespace graft::plugins::language_modeling;
  r.head<MaskedLmHead, MaskedLmOptions>(
      "masked_lm", "masked language modelling: transform + decoder tied to the word embeddings (HF *ForMaskedLM layouts)",
      {"ForMaskedLM"});
  r.head<ElectraDiscriminatorHead, DiscriminatorOptions>(
      "electra_discriminator", "ELECTRA replaced-token detection: one logit per token (HF ElectraForPreTraining)",
      {"ForPreTraining"});
}

}  // namespace

GRAFT_PLUGIN(language_modeling, "0.1.0", "task_head", "masked-LM and ELECTRA discriminator heads",
             register_language_modeling)
