#include "head.h"

#include <graft/error.h>

#include <cmath>

namespace graft::plugins::ranking {

namespace F = torch::nn::functional;

void HeadOptions::visit(OptionVisitor& v) {
  v.optional("dropout", dropout,
             "dropout probability before the output layer; -1 = the language model config's classifier dropout "
             "(as HF), else 0.1");
  v.optional("max_relevance", max_relevance,
             "relevance that counts as fully relevant: the training target is min(relevance, max_relevance) / "
             "max_relevance (1 = binary labels; 3 for graded 0..3 judgements)");
}

void HeadOptions::check(Diagnostics& d) const {
  if (dropout != -1.0 && (dropout < 0.0 || dropout >= 1.0))
    d.error("dropout", cat("must be in [0, 1) or -1 (take it from the language model config), got ", dropout));
  if (!(max_relevance > 0.0)) d.error("max_relevance", cat("must be > 0, got ", max_relevance));
}

RankingHead::RankingHead(const HeadOptions& options, const HeadContext& context)
    : task_(context.task), max_relevance_(options.max_relevance) {
  Diagnostics d;
  options.check(d);
  if (!d.ok()) throw ConfigError(cat("passage_ranking head options:\n", d.format()));
  scorer_.build(*this, context.model_type, context.hidden_size, 1, options.dropout, context.hf_config);
}

torch::Tensor RankingHead::forward(const LMOutput& lm, const Batch& batch) {
  (void)batch;
  return scorer_.forward(lm);
}

torch::Tensor RankingHead::loss(const torch::Tensor& logits, const Batch& batch) {
  torch::Tensor rel = batch.at(label_key()).to(logits.device(), torch::kFloat32).reshape({-1});
  torch::Tensor target = rel.clamp(0.0, max_relevance_) / max_relevance_;
  return F::binary_cross_entropy_with_logits(logits.to(torch::kFloat32).reshape({-1}), target,
                                             F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
}

Value RankingHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  GRAFT_CHECK(!logits.empty(), Error, "passage_ranking: no score for input ", basket.id);
  double score = 0;
  for (const auto& l : logits) {
    GRAFT_CHECK(l.numel() == 1, Error, "passage_ranking: output of input ", basket.id, " has ", l.numel(),
                " values, expected 1");
    score += l.detach().to(torch::kCPU, torch::kFloat64).item<double>();
  }
  score /= static_cast<double>(logits.size());
  Value out = Value::object();
  if (const Value* q = basket.raw.find("query_id")) out.set("query_id", *q);
  out.set("score", score);
  out.set("probability", 1.0 / (1.0 + std::exp(-score)));
  return out;
}

Value RankingHead::prediction_for_metric(const Value& formatted) const {
  Value out = Value::object();
  out.set("query", formatted.at("query_id"));
  out.set("score", formatted.at("score"));
  return out;
}

Value RankingHead::gold_for_metric(const Basket& basket) const {
  const Value* r = basket.raw.find("relevance");
  GRAFT_CHECK(r && r->is_number(), DataError, basket.loc.str().empty() ? basket.id : basket.loc.str(),
              ": the record has no gold relevance to evaluate against");
  Value out = Value::object();
  out.set("query", basket.raw.at("query_id"));
  out.set("relevance", *r);
  return out;
}

HfHeadExport RankingHead::hf_export() const {
  // A cross-encoder is a one-output *ForSequenceClassification (as sentence-transformers' CrossEncoder).
  HfHeadExport e;
  e.architecture_suffix = "ForSequenceClassification";
  e.config = Value::object();
  Value id2label = Value::object(), label2id = Value::object();
  id2label.set("0", "LABEL_0");
  label2id.set("LABEL_0", int64_t{0});
  e.config.set("id2label", std::move(id2label));
  e.config.set("label2id", std::move(label2id));
  return e;
}

void RankingHead::init_weights(double initializer_range) { scorer_.init_weights(initializer_range); }

}  // namespace graft::plugins::ranking
