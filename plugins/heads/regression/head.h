#pragma once
// regression head: the family's HF sequence-classification layers with one linear output per
// target, mean squared error, and optional target standardisation (mean/std of the training
// targets saved with the model and undone at prediction time).
#include "../common/sequence_scorer.h"

#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::regression {

struct HeadOptions {
  std::vector<std::string> labels;
  double dropout = -1.0;
  bool standardize = false;
  std::vector<double> label_mean;
  std::vector<double> label_std;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class RegressionHead : public PredictionHead {
 public:
  RegressionHead(const HeadOptions& options, const HeadContext& context);

  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  Value prediction_for_metric(const Value& formatted) const override;
  Value gold_for_metric(const Basket& basket) const override;
  std::vector<std::string> labels() const override { return labels_; }
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  double dropout_probability() const { return scorer_.dropout_probability(); }
  std::string label_key() const { return task_ + "/label_ids"; }
  /// Model outputs → target scale (identity without standardisation).
  torch::Tensor to_targets(const torch::Tensor& outputs) const;

 private:
  std::string task_;
  std::vector<std::string> labels_;
  bool standardize_ = false;
  torch::Tensor mean_, std_;  ///< [K] float64, defined when standardising
  common::SequenceScorer scorer_;
};

}  // namespace graft::plugins::regression
