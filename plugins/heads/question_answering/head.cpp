#include "head.h"

#include "squad_processor.h"

#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace graft::plugins::question_answering {

namespace F = torch::nn::functional;

void QaHeadOptions::visit(OptionVisitor& v) {
  v.optional("max_answer_length", max_answer_length, "longest answer in tokens", at_least(1));
  v.optional("n_best", n_best, "answers returned per question (best first)", at_least(1));
  v.optional("top_k_per_window", top_k_per_window, "start and end candidates searched in each window", at_least(1));
  v.optional("allow_no_answer", allow_no_answer,
             "predict \"no answer\" (the [CLS] span) when its score beats the best span by more than "
             "no_answer_threshold (SQuAD 2.0); false = always return a span (SQuAD 1.1)");
  v.optional("no_answer_threshold", no_answer_threshold,
             "no answer is predicted when no_answer_score - best_span_score > this (HF's null_score_diff_threshold)");
  v.optional("context_window_size", context_window_size,
             "characters of context returned around each answer (0 = the whole context)", at_least(0));
}

QuestionAnsweringHead::QuestionAnsweringHead(const QaHeadOptions& options, const HeadContext& context)
    : task_(context.task), options_(options) {
  GRAFT_CHECK(context.hidden_size > 0, ConfigError, "question_answering head: the language model's hidden size is ",
              context.hidden_size, "; expected a positive number");
  qa_outputs_ = register_module("qa_outputs", torch::nn::Linear(context.hidden_size, 2));
}

torch::Tensor QuestionAnsweringHead::forward(const LMOutput& lm, const Batch& batch) {
  (void)batch;
  return qa_outputs_(lm.sequence);  // [B, T, 2]
}

torch::Tensor QuestionAnsweringHead::loss(const torch::Tensor& logits, const Batch& batch) {
  const int64_t T = logits.size(1);
  auto start = batch.at(task_ + "/start_positions").to(logits.device()).reshape({-1}).clamp(0, T);
  auto end = batch.at(task_ + "/end_positions").to(logits.device()).reshape({-1}).clamp(0, T);
  auto opts = F::CrossEntropyFuncOptions().reduction(torch::kNone).ignore_index(T);
  auto ls = F::cross_entropy(logits.select(2, 0), start, opts);  // [B]
  auto le = F::cross_entropy(logits.select(2, 1), end, opts);    // [B]
  return (ls + le) / 2;
}

std::vector<SpanCandidate> QuestionAnsweringHead::window_candidates(const Encoding& e, const torch::Tensor& start,
                                                                    const torch::Tensor& end, int64_t window) const {
  std::vector<int64_t> ctx;
  for (size_t t = 0; t < e.size(); ++t)
    if (e.sequence_ids[t] == 1) ctx.push_back(static_cast<int64_t>(t));
  std::vector<SpanCandidate> out;
  if (ctx.empty()) return out;
  auto s = start.to(torch::kFloat64).contiguous();
  auto en = end.to(torch::kFloat64).contiguous();
  const double* sp = s.data_ptr<double>();
  const double* ep = en.data_ptr<double>();
  auto top = [&](const double* v) {
    std::vector<int64_t> idx = ctx;
    const size_t k = std::min<size_t>(idx.size(), static_cast<size_t>(options_.top_k_per_window));
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                      [&](int64_t a, int64_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
    idx.resize(k);
    return idx;
  };
  for (int64_t a : top(sp))
    for (int64_t b : top(ep)) {
      if (b < a || b - a + 1 > options_.max_answer_length) continue;
      SpanCandidate c;
      c.score = sp[a] + ep[b];
      c.window = window;
      c.start_token = a;
      c.end_token = b;
      c.byte_start = e.offsets[static_cast<size_t>(a)].first;
      c.byte_end = e.offsets[static_cast<size_t>(b)].second;
      if (c.byte_end <= c.byte_start) continue;
      out.push_back(c);
    }
  return out;
}

Value QuestionAnsweringHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  GRAFT_CHECK(logits.size() == basket.samples.size(), Error, "question_answering: ", logits.size(), " logits for ",
              basket.samples.size(), " windows of question ", basket.id);
  const std::string& context = basket.raw.at("context").as_string();
  std::vector<SpanCandidate> all;
  double null_score = INFINITY;
  for (size_t w = 0; w < logits.size(); ++w) {
    const Encoding& e = basket.samples[w].encoding;
    const int64_t n = static_cast<int64_t>(e.size());
    torch::Tensor l = logits[w].to(torch::kFloat64).slice(0, 0, n);  // [n, 2]
    auto start = l.select(1, 0), end = l.select(1, 1);
    null_score = std::min(null_score, start[0].item<double>() + end[0].item<double>());
    auto c = window_candidates(e, start, end, static_cast<int64_t>(w));
    all.insert(all.end(), c.begin(), c.end());
  }
  std::stable_sort(all.begin(), all.end(), [](const SpanCandidate& a, const SpanCandidate& b) { return a.score > b.score; });
  std::vector<SpanCandidate> best;
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const auto& c : all) {
    if (!seen.insert({c.byte_start, c.byte_end}).second) continue;
    best.push_back(c);
    if (static_cast<int64_t>(best.size()) >= options_.n_best) break;
  }
  const bool no_answer =
      options_.allow_no_answer && (best.empty() || null_score - best.front().score > options_.no_answer_threshold);
  // probabilities: softmax over the n-best spans and the no-answer score
  double mx = null_score;
  for (const auto& c : best) mx = std::max(mx, c.score);
  double z = std::exp(null_score - mx);
  for (const auto& c : best) z += std::exp(c.score - mx);
  const int64_t n_chars = chars_before(context, static_cast<int64_t>(context.size()));
  auto window_of = [&](int64_t cs, int64_t ce, Value& a) {
    int64_t ws = 0, we = n_chars;
    if (options_.context_window_size > 0 && n_chars > options_.context_window_size) {
      int64_t extra = std::max<int64_t>(0, options_.context_window_size - (ce - cs));
      ws = std::max<int64_t>(0, cs - extra / 2);
      we = std::min(n_chars, ws + std::max(options_.context_window_size, ce - cs));
      ws = std::max<int64_t>(0, std::min(ws, we - std::max(options_.context_window_size, ce - cs)));
    }
    auto cps = code_point_bytes(context);
    a.set("context", context.substr(static_cast<size_t>(cps[static_cast<size_t>(ws)]),
                                    static_cast<size_t>(cps[static_cast<size_t>(we)] - cps[static_cast<size_t>(ws)])));
    a.set("context_start", ws);
    a.set("context_end", we);
  };
  Value answers = Value::array();
  auto null_answer = [&]() {
    Value a = Value::object();
    a.set("answer", "");
    a.set("score", null_score);
    a.set("probability", std::exp(null_score - mx) / z);
    a.set("start", static_cast<int64_t>(0));
    a.set("end", static_cast<int64_t>(0));
    a.set("context", "");
    a.set("context_start", static_cast<int64_t>(0));
    a.set("context_end", static_cast<int64_t>(0));
    a.set("window", static_cast<int64_t>(-1));
    return a;
  };
  if (no_answer) answers.push_back(null_answer());
  for (const auto& c : best) {
    Value a = Value::object();
    a.set("answer", context.substr(static_cast<size_t>(c.byte_start), static_cast<size_t>(c.byte_end - c.byte_start)));
    a.set("score", c.score);
    a.set("probability", std::exp(c.score - mx) / z);
    const int64_t cs = chars_before(context, c.byte_start), ce = chars_before(context, c.byte_end);
    a.set("start", cs);
    a.set("end", ce);
    window_of(cs, ce, a);
    a.set("window", c.window);
    answers.push_back(std::move(a));
  }
  Value out = Value::object();
  out.set("id", basket.raw.get_string("id", basket.id));
  out.set("question", basket.raw.at("question").as_string());
  out.set("answers", std::move(answers));
  out.set("no_answer", no_answer);
  out.set("no_answer_score", null_score);
  out.set("no_answer_probability", std::exp(null_score - mx) / z);
  out.set("no_answer_gap", best.empty() ? -INFINITY : best.front().score - null_score);
  if (best.empty()) out.set("no_answer_gap", Value());
  return out;
}

Value QuestionAnsweringHead::prediction_for_metric(const Value& formatted) const {
  Value p = Value::object();
  const auto& answers = formatted.at("answers").as_array();
  p.set("answer", answers.empty() ? std::string() : answers.front().at("answer").as_string());
  p.set("no_answer_prob", formatted.at("no_answer_probability").as_double());
  return p;
}

Value QuestionAnsweringHead::gold_for_metric(const Basket& basket) const {
  GRAFT_CHECK(basket.raw.get_bool("labelled", false), DataError,
              basket.loc.str().empty() ? basket.id : basket.loc.str(), ": question '", basket.id,
              "' has no gold answers to evaluate against");
  Value g = Value::object();
  g.set("id", basket.raw.get_string("id", basket.id));
  Value answers = Value::array();
  for (const auto& a : basket.raw.at("answers").as_array()) answers.push_back(a.at("text"));
  g.set("answers", std::move(answers));
  if (const Value* v = basket.raw.find("version")) g.set("version", *v);
  return g;
}

HfHeadExport QuestionAnsweringHead::hf_export() const {
  HfHeadExport e;
  e.architecture_suffix = "ForQuestionAnswering";
  e.config = Value::object();
  return e;
}

void QuestionAnsweringHead::init_weights(double initializer_range) {
  torch::NoGradGuard guard;
  qa_outputs_->weight.normal_(0.0, initializer_range);
  qa_outputs_->bias.zero_();
}

}  // namespace graft::plugins::question_answering
