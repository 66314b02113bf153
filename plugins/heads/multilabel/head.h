#pragma once
// multilabel_classification head: the family's HF sequence-classification layers with one
// sigmoid output per label, binary cross-entropy (optional pos_weight), and a global or
// per-label decision threshold.
#include "../common/sequence_scorer.h"

#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::multilabel {

struct HeadOptions {
  std::vector<std::string> labels;
  double dropout = -1.0;
  double threshold = 0.5;
  std::vector<double> thresholds;
  std::vector<double> pos_weight;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class MultilabelHead : public PredictionHead {
 public:
  MultilabelHead(const HeadOptions& options, const HeadContext& context);

  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  Value prediction_for_metric(const Value& formatted) const override;
  Value gold_for_metric(const Basket& basket) const override;
  std::vector<std::string> labels() const override { return labels_; }
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  const std::vector<double>& thresholds() const { return thresholds_; }
  double dropout_probability() const { return scorer_.dropout_probability(); }
  std::string label_key() const { return task_ + "/label_ids"; }

 private:
  std::string task_;
  std::vector<std::string> labels_;
  std::vector<double> thresholds_;  ///< one per label
  torch::Tensor pos_weight_;
  common::SequenceScorer scorer_;
};

}  // namespace graft::plugins::multilabel
