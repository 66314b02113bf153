#pragma once
// passage_ranking head: a cross-encoder scorer (the family's HF sequence-classification layers
// with one output) trained pointwise with binary cross-entropy on relevance / max_relevance.
#include "../common/sequence_scorer.h"

#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::ranking {

struct HeadOptions {
  double dropout = -1.0;
  double max_relevance = 1.0;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class RankingHead : public PredictionHead {
 public:
  RankingHead(const HeadOptions& options, const HeadContext& context);

  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  Value prediction_for_metric(const Value& formatted) const override;
  Value gold_for_metric(const Basket& basket) const override;
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  std::string label_key() const { return task_ + "/label_ids"; }

 private:
  std::string task_;
  double max_relevance_ = 1.0;
  common::SequenceScorer scorer_;
};

}  // namespace graft::plugins::ranking
