#pragma once
// Ranking metrics over (query, passage) rows: mrr, mrr@k, map, recall@k, ndcg@k, hits@k.
//
// One gold and one predicted value per (query, passage) row, in the same order:
//   gold: {"query": ID, "relevance": R}   (R >= 0; graded relevance, R > 0 = relevant)
//   pred: {"query": ID, "score": S}       (higher = ranked first)
// or, as `graft score` reads lines, the strings "ID<TAB>R" and "ID<TAB>S". Rows are grouped by
// query id; each query's passages are ranked by score descending (ties keep input order).
// Definitions (as trec_eval / the retrieval fixture): rr = 1/rank of the first relevant passage
// (0 when outside the cutoff), recall@k = relevant in top k / relevant of the query, hits@k = 1 if
// any relevant passage is in the top k, ndcg@k with linear gain rel / log2(rank + 1) normalised by
// the ideal ordering of the query's passages, ap = mean precision at the ranks of the relevant
// passages. Means are over queries with at least one relevant passage (others are left out).
#include <graft/metric.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::ranking {

struct QueryRanking {
  std::string query;
  std::vector<double> relevance;  ///< in ranked order (best score first)
  int64_t n_relevant = 0;
  std::vector<double> ideal;      ///< relevance sorted descending
};

/// Groups and ranks the rows. DataError (naming the value) for malformed values, mismatched
/// query ids of a row, or no query with a relevant passage.
std::vector<QueryRanking> rank_queries(const MetricInput& input, const std::string& metric);

double reciprocal_rank(const QueryRanking& q, int64_t cutoff);  ///< cutoff 0 = none
double recall_at(const QueryRanking& q, int64_t k);
double hits_at(const QueryRanking& q, int64_t k);
double ndcg_at(const QueryRanking& q, int64_t k);  ///< k 0 = full ranking
double average_precision(const QueryRanking& q);

enum class RankingMeasure { mrr, map, recall, ndcg, hits };

class RankingMetric : public Metric {
 public:
  RankingMetric(std::string name, RankingMeasure measure, int64_t k) : name_(std::move(name)), measure_(measure), k_(k) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;

 private:
  std::string name_;
  RankingMeasure measure_;
  int64_t k_;
};

/// Cutoffs registered for recall@k, ndcg@k, hits@k (and mrr@k).
const std::vector<int64_t>& ranking_cutoffs();
void register_metrics(Registrar& r);

}  // namespace graft::plugins::ranking
