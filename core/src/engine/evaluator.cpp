// Evaluator and the shared prediction loop.
#include <graft/core/data_silo.h>
#include <graft/core/evaluator.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <algorithm>

namespace graft::core {

Predictions predict_baskets(AdaptiveModel& model, const std::string& task, const Processor& processor,
                            const Tokenizer& tokenizer, const std::vector<Basket>& baskets,
                            const PredictOptions& options) {
  Predictions out;
  if (baskets.empty()) return out;
  model.eval();
  torch::NoGradGuard ng;
  // basket index → its samples' logits in sample order
  std::map<const Basket*, size_t> index;
  for (size_t i = 0; i < baskets.size(); ++i) index[&baskets[i]] = i;
  std::vector<std::vector<std::pair<size_t, torch::Tensor>>> per_basket(baskets.size());
  double loss_sum = 0.0;
  int64_t rows = 0;
  auto plan = plan_batches(baskets, options.batch_size, /*shuffle=*/false, 0, /*by_length=*/true);
  for (const auto& batch_rows : plan) {
    Batch batch = collate_rows(batch_rows, processor, tokenizer).to(model.device());
    torch::Tensor logits;
    {
      AutocastGuard ac(options.precision, model.device());
      auto res = model.forward(batch, {task});
      logits = res.logits.at(task).to(torch::kFloat32);
      if (options.compute_loss) {
        auto l = model.head(task).loss(res.logits.at(task), batch).to(torch::kFloat32);
        loss_sum += l.sum().item<double>();
      }
    }
    logits = logits.to(torch::kCPU);
    rows += batch.size();
    for (size_t r = 0; r < batch_rows.size(); ++r) {
      const Basket* b = batch_rows[r].first;
      const Sample* s = batch_rows[r].second;
      size_t sample_pos = static_cast<size_t>(s - b->samples.data());
      per_basket[index.at(b)].emplace_back(sample_pos, logits[static_cast<int64_t>(r)]);
    }
  }
  out.formatted.reserve(baskets.size());
  const PredictionHead& head = model.head(task);
  for (size_t i = 0; i < baskets.size(); ++i) {
    auto& v = per_basket[i];
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<torch::Tensor> ls;
    for (auto& [_, t] : v) ls.push_back(t);
    out.formatted.push_back(head.format(baskets[i], ls));
  }
  if (options.compute_loss && rows > 0) out.loss = loss_sum / static_cast<double>(rows);
  return out;
}

std::vector<NamedMetric> make_metrics(const std::vector<std::string>& names, Registry& registry) {
  std::vector<NamedMetric> out;
  for (const auto& n : names) {
    const auto& reg = registry.metric(n);
    auto opts = reg.entry.make_options();
    out.push_back(NamedMetric{n, reg.entry.make(*opts, MetricContext{})});
  }
  return out;
}

void merge_metrics(Value& into, const Value& from) {
  if (!from.is_object()) return;
  for (const auto& [k, v] : from.as_object())
    if (v.is_number()) into.set(k, v);
}

Evaluator::Evaluator(AdaptiveModel& model, const Tokenizer& tokenizer, PredictOptions options)
    : model_(model), tokenizer_(tokenizer), opt_(std::move(options)) {}

void Evaluator::set_metrics(const std::string& task, std::vector<NamedMetric> metrics) {
  metrics_[task] = std::move(metrics);
}

TaskEvaluation Evaluator::evaluate(const std::string& task, const Processor& processor,
                                   const std::vector<Basket>& baskets, bool with_report) {
  GRAFT_CHECK(!baskets.empty(), DataError, "task '", task, "': nothing to evaluate (no labelled records)");
  PredictOptions po = opt_;
  po.compute_loss = true;
  Predictions preds = predict_baskets(model_, task, processor, tokenizer_, baskets, po);
  const PredictionHead& head = model_.head(task);
  MetricInput in;
  in.labels = head.labels();
  for (size_t i = 0; i < baskets.size(); ++i) {
    in.gold.push_back(head.gold_for_metric(baskets[i]));
    in.pred.push_back(head.prediction_for_metric(preds.formatted[i]));
  }
  TaskEvaluation ev;
  ev.metrics.set(task + "/loss", preds.loss);
  if (with_report) ev.input = in;
  auto it = metrics_.find(task);
  if (it != metrics_.end()) {
    for (const auto& m : it->second) {
      Value r = m.metric->compute(in);
      if (r.is_number()) {
        ev.metrics.set(task + "/" + m.name, r);
      } else if (r.is_object()) {
        for (const auto& [k, v] : r.as_object())
          if (v.is_number()) ev.metrics.set(task + "/" + k, v);
      }
      if (with_report) {
        std::string rep = m.metric->report(in);
        if (!rep.empty() && ev.report.find(rep) == std::string::npos) {
          ev.report += rep;
          if (rep.back() != '\n') ev.report += '\n';
        }
      }
    }
  }
  return ev;
}

}  // namespace graft::core
