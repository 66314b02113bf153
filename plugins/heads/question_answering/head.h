#pragma once
// question_answering head: Linear(hidden, 2) → start/end logits, parameter names as HF
// *ForQuestionAnswering ("qa_outputs.weight/bias"); span decoding across the windows of a question.
#include <graft/prediction_head.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::question_answering {

struct QaHeadOptions {
  int64_t max_answer_length = 30;
  int64_t n_best = 5;
  int64_t top_k_per_window = 20;
  bool allow_no_answer = true;
  double no_answer_threshold = 0.0;
  int64_t context_window_size = 150;

  void visit(OptionVisitor& v);
};

/// One answer candidate (a span of one window).
struct SpanCandidate {
  double score = 0;
  int64_t window = 0;
  int64_t start_token = 0, end_token = 0;
  int64_t byte_start = 0, byte_end = 0;  ///< into the context, end exclusive
};

class QuestionAnsweringHead : public PredictionHead {
 public:
  QuestionAnsweringHead(const QaHeadOptions& options, const HeadContext& context);

  /// [B, T, 2]: start logits in [..., 0], end logits in [..., 1].
  torch::Tensor forward(const LMOutput& lm, const Batch& batch) override;
  /// HF: mean of the start and end cross-entropies (positions outside the sequence ignored).
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override;
  Value format(const Basket& basket, const std::vector<torch::Tensor>& logits) const override;
  /// {"answer": text ("" = no answer), "no_answer_prob"}.
  Value prediction_for_metric(const Value& formatted) const override;
  /// {"id", "answers": [texts], "version"}.
  Value gold_for_metric(const Basket& basket) const override;
  HfHeadExport hf_export() const override;
  void init_weights(double initializer_range) override;

  /// Best spans of one window: start/end logits [n] of a sample whose context tokens are
  /// those with sequence id 1.
  std::vector<SpanCandidate> window_candidates(const Encoding& e, const torch::Tensor& start,
                                               const torch::Tensor& end, int64_t window) const;

 private:
  std::string task_;
  QaHeadOptions options_;
  torch::nn::Linear qa_outputs_{nullptr};
};

}  // namespace graft::plugins::question_answering
