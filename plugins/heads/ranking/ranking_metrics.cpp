#include "ranking_metrics.h"

#include "../common/table.h"

#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>

namespace graft::plugins::ranking {

namespace {

std::string where(const Value& v, const char* side, size_t i) {
  if (!v.location().file.empty()) return v.location().str();
  return cat(side, " value ", i, " (0-based)");
}

/// (query id, number) of one row value.
std::pair<std::string, double> parse_row(const Value& v, const char* side, const char* number_key, size_t i,
                                         const std::string& metric) {
  auto bad = [&](const std::string& what) {
    return DataError(cat("metric '", metric, "': ", where(v, side, i), ": ", what));
  };
  std::string query;
  const Value* number = nullptr;
  Value parsed;
  if (v.is_object()) {
    const Value* q = v.find("query");
    if (!q) throw bad(cat("expected {\"query\": ID, \"", number_key, "\": NUMBER}; \"query\" is missing"));
    if (q->is_string()) query = q->as_string();
    else if (q->is_int()) query = std::to_string(q->as_int());
    else throw bad(cat("\"query\" must be a string or an integer, got a ", q->type_name()));
    number = v.find(number_key);
    if (!number) throw bad(cat("expected {\"query\": ID, \"", number_key, "\": NUMBER}; \"", number_key, "\" is missing"));
  } else if (v.is_string()) {
    const std::string& s = v.as_string();
    size_t tab = s.find('\t');
    if (tab == std::string::npos) tab = s.find_last_of(' ');
    if (tab == std::string::npos)
      throw bad(cat("'", s, "': expected a query id and a ", number_key, " separated by a tab"));
    query = common::trim(s.substr(0, tab));
    parsed = Value(common::trim(s.substr(tab + 1)));
    number = &parsed;
  } else {
    throw bad(cat("expected {\"query\": ID, \"", number_key, "\": NUMBER}, got a ", v.type_name()));
  }
  if (query.empty()) throw bad("empty query id");
  double x = 0;
  if (number->is_number()) {
    x = number->as_double();
  } else if (number->is_string() && common::parse_number(number->as_string())) {
    x = *common::parse_number(number->as_string());
  } else {
    throw bad(cat("the ", number_key, " ", number->is_string() ? "'" + number->as_string() + "'" : std::string(number->type_name()),
                  " is not a number"));
  }
  if (!std::isfinite(x)) throw bad(cat("the ", number_key, " is not finite"));
  return {query, x};
}

}  // namespace

std::vector<QueryRanking> rank_queries(const MetricInput& input, const std::string& metric) {
  GRAFT_CHECK(input.gold.size() == input.pred.size(), DataError, "metric '", metric, "': ", input.gold.size(),
              " gold values but ", input.pred.size(), " predictions; they must pair up one to one");
  GRAFT_CHECK(!input.gold.empty(), DataError, "metric '", metric, "': no rows to score");
  std::map<std::string, size_t> index;
  struct Rows {
    std::string query;
    std::vector<double> rel, score;
  };
  std::vector<Rows> groups;
  for (size_t i = 0; i < input.gold.size(); ++i) {
    auto [gq, rel] = parse_row(input.gold[i], "gold", "relevance", i, metric);
    auto [pq, score] = parse_row(input.pred[i], "predicted", "score", i, metric);
    GRAFT_CHECK(gq == pq, DataError, "metric '", metric, "': ", where(input.pred[i], "predicted", i), ": query '", pq,
                "' but the gold row says '", gq, "'; gold and predictions must list the same rows in the same order");
    GRAFT_CHECK(rel >= 0, DataError, "metric '", metric, "': ", where(input.gold[i], "gold", i), ": relevance ", rel,
                " is negative");
    auto [it, fresh] = index.emplace(gq, groups.size());
    if (fresh) groups.push_back(Rows{gq, {}, {}});
    groups[it->second].rel.push_back(rel);
    groups[it->second].score.push_back(score);
  }
  std::vector<QueryRanking> out;
  for (auto& g : groups) {
    QueryRanking q;
    q.query = g.query;
    std::vector<size_t> order(g.rel.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return g.score[a] > g.score[b]; });
    for (size_t i : order) q.relevance.push_back(g.rel[i]);
    for (double r : g.rel) q.n_relevant += r > 0;
    q.ideal = g.rel;
    std::sort(q.ideal.begin(), q.ideal.end(), std::greater<double>());
    if (q.n_relevant > 0) out.push_back(std::move(q));
  }
  GRAFT_CHECK(!out.empty(), DataError, "metric '", metric, "': none of the ", groups.size(),
              " queries has a relevant passage (relevance > 0); ranking metrics are undefined");
  return out;
}

double reciprocal_rank(const QueryRanking& q, int64_t cutoff) {
  for (size_t i = 0; i < q.relevance.size(); ++i) {
    if (cutoff > 0 && static_cast<int64_t>(i) >= cutoff) break;
    if (q.relevance[i] > 0) return 1.0 / static_cast<double>(i + 1);
  }
  return 0.0;
}

double recall_at(const QueryRanking& q, int64_t k) {
  double found = 0;
  for (size_t i = 0; i < q.relevance.size() && static_cast<int64_t>(i) < k; ++i) found += q.relevance[i] > 0;
  return found / static_cast<double>(q.n_relevant);
}

double hits_at(const QueryRanking& q, int64_t k) { return recall_at(q, k) > 0 ? 1.0 : 0.0; }

double ndcg_at(const QueryRanking& q, int64_t k) {
  auto dcg = [&](const std::vector<double>& rel) {
    double s = 0;
    for (size_t i = 0; i < rel.size() && (k <= 0 || static_cast<int64_t>(i) < k); ++i)
      s += rel[i] / std::log2(static_cast<double>(i) + 2.0);
    return s;
  };
  const double ideal = dcg(q.ideal);
  return ideal > 0 ? dcg(q.relevance) / ideal : 0.0;
}

double average_precision(const QueryRanking& q) {
  double hits = 0, sum = 0;
  for (size_t i = 0; i < q.relevance.size(); ++i)
    if (q.relevance[i] > 0) {
      hits += 1;
      sum += hits / static_cast<double>(i + 1);
    }
  return sum / static_cast<double>(q.n_relevant);
}

Value RankingMetric::compute(const MetricInput& input) const {
  auto queries = rank_queries(input, name_);
  double sum = 0;
  for (const auto& q : queries) {
    switch (measure_) {
      case RankingMeasure::mrr: sum += reciprocal_rank(q, k_); break;
      case RankingMeasure::map: sum += average_precision(q); break;
      case RankingMeasure::recall: sum += recall_at(q, k_); break;
      case RankingMeasure::ndcg: sum += ndcg_at(q, k_); break;
      case RankingMeasure::hits: sum += hits_at(q, k_); break;
    }
  }
  Value out = Value::object();
  out.set(name_, sum / static_cast<double>(queries.size()));
  return out;
}

std::string RankingMetric::report(const MetricInput& input) const {
  auto queries = rank_queries(input, name_);
  const double n = static_cast<double>(queries.size());
  double mrr = 0, map = 0, r1 = 0, r5 = 0, r10 = 0, nd10 = 0;
  for (const auto& q : queries) {
    mrr += reciprocal_rank(q, 0);
    map += average_precision(q);
    r1 += recall_at(q, 1);
    r5 += recall_at(q, 5);
    r10 += recall_at(q, 10);
    nd10 += ndcg_at(q, 10);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%zu queries with a relevant passage: mrr %.4f  map %.4f  recall@1 %.4f  recall@5 %.4f  recall@10 %.4f  "
                "ndcg@10 %.4f\n",
                queries.size(), mrr / n, map / n, r1 / n, r5 / n, r10 / n, nd10 / n);
  return buf;
}

const std::vector<int64_t>& ranking_cutoffs() {
  static const std::vector<int64_t> ks = {1, 3, 5, 10, 20, 50, 100};
  return ks;
}

namespace {

void add(Registrar& r, const std::string& name, RankingMeasure m, int64_t k, const std::string& summary) {
  MetricEntry e;
  e.name = name;
  e.summary = summary;
  e.make_options = [] { return std::make_unique<OptionsHolder<NoOptions>>(); };
  e.make = [name, m, k](const OptionsBase&, const MetricContext&) -> std::shared_ptr<Metric> {
    return std::make_shared<RankingMetric>(name, m, k);
  };
  r.add(std::move(e));
}

}  // namespace

void register_metrics(Registrar& r) {
  const std::string rows = " over (query, passage) rows grouped by query";
  add(r, "mrr", RankingMeasure::mrr, 0, "mean reciprocal rank of the first relevant passage" + rows);
  add(r, "map", RankingMeasure::map, 0, "mean average precision" + rows);
  add(r, "ndcg", RankingMeasure::ndcg, 0, "nDCG of the full ranking (linear gain)" + rows);
  for (int64_t k : ranking_cutoffs()) {
    add(r, cat("mrr@", k), RankingMeasure::mrr, k, cat("mean reciprocal rank, 0 when the first relevant passage is below rank ", k) + rows);
    add(r, cat("recall@", k), RankingMeasure::recall, k, cat("share of each query's relevant passages in its top ", k) + rows);
    add(r, cat("ndcg@", k), RankingMeasure::ndcg, k, cat("nDCG of the top ", k, " (linear gain, ideal = all judged passages)") + rows);
    add(r, cat("hits@", k), RankingMeasure::hits, k, cat("share of queries with a relevant passage in the top ", k) + rows);
  }
}

}  // namespace graft::plugins::ranking
