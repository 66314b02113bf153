#pragma once
// Choosing the head for a Hugging Face *For<Task> checkpoint. One HF class can serve several
// graft heads: *ForSequenceClassification is single-label classification, multilabel
// classification or regression depending on config.json `problem_type` (and num_labels == 1 →
// regression, as transformers infers it). A head registers for the plain suffix
// ("ForSequenceClassification") or for a qualified one
// ("ForSequenceClassification[problem_type=regression]"); the qualified entry wins when the
// checkpoint's problem type matches.
#include <graft/core/registry.h>
#include <graft/value.h>

#include <string>

namespace graft::core {

/// config.json `problem_type` when it is a string; else "regression" when the config has one
/// label (num_labels or id2label), else "" (HF decides from the label dtype at training time;
/// graft treats it as single-label classification).
std::string hf_problem_type(const Value& config);

/// The head for architecture suffix `suffix` of a checkpoint with `config`; nullptr when none.
const Registered<HeadEntry>* head_for_hf_checkpoint(const Registry& registry, const std::string& suffix,
                                                    const Value& config);

}  // namespace graft::core
