#pragma once
// HF DPRQuestionEncoder / DPRContextEncoder: a BertModel under `bert_model` (its pooler exists in
// the checkpoint but is never used), pooled output = the [CLS] hidden state, projected by
// `encode_proj` (Linear hidden → projection_dim) when projection_dim > 0. The checkpoint prefix
// is `question_encoder.` or `ctx_encoder.` (chosen from config.json architectures).
#include "../bert/bert_model.h"

#include <graft/language_model.h>
#include <graft/options.h>

#include <memory>
#include <string>
#include <vector>

namespace graft::plugins::dpr {

enum class Role { question, context };

/// config.json keys of a DPR encoder: BERT's plus projection_dim.
struct DprConfig {
  bert::BertConfig bert;
  int64_t projection_dim = 0;
  /// "question" | "context"; empty = from config.json architectures (DPRContextEncoder → context),
  /// else question.
  std::string encoder_role;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class DprEncoder : public LanguageModel {
 public:
  DprEncoder(const DprConfig& config, const LanguageModelContext& ctx);

  /// pooled = h[:, 0] (→ encode_proj when projection_dim > 0).
  LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) override;
  int64_t hidden_size() const override { return config_.bert.hidden_size; }
  /// Width of `pooled`: projection_dim when > 0, else hidden_size.
  int64_t embedding_dim() const { return config_.projection_dim > 0 ? config_.projection_dim : config_.bert.hidden_size; }
  std::string base_model_prefix() const override { return role_ == Role::context ? "ctx_encoder" : "question_encoder"; }
  /// The whole HF class name ("DPRQuestionEncoder"): DPR checkpoints have no *For<Task> variants.
  std::string architecture_stem() const override { return role_ == Role::context ? "DPRContextEncoder" : "DPRQuestionEncoder"; }
  Value hf_config() const override;
  void init_weights() override;
  std::vector<std::string> ignored_checkpoint_keys() const override { return {"bert_model.embeddings.position_ids"}; }

  Role role() const { return role_; }

  std::shared_ptr<bert::BertModel> bert_model;
  torch::nn::Linear encode_proj{nullptr};  ///< only when projection_dim > 0

 private:
  DprConfig config_;
  Role role_ = Role::question;
  Value original_config_;
};

}  // namespace graft::plugins::dpr
