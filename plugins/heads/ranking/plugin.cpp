// The ranking plugin: tsv_ranking processor, passage_ranking (cross-encoder) head and the
// ranking metrics mrr, map, recall@k, ndcg@k, hits@k.
#include "head.h"
#include "processor.h"
#include "ranking_metrics.h"

#include <graft/plugin.h>

namespace {

void register_ranking(graft::Registrar& r) {
  using namespace graft::plugins::ranking;
  r.processor<RankingProcessor, ProcessorOptions>(
      "tsv_ranking", "(query, passage, relevance) rows of a TSV/CSV file, grouped by query");
  r.head<RankingHead, HeadOptions>(
      "passage_ranking", "cross-encoder passage ranking: one relevance score per (query, passage), pointwise BCE");
  register_metrics(r);
}

}  // namespace

GRAFT_PLUGIN(ranking, "0.1.0", "task_head",
             "passage ranking: query/passage TSV processor, cross-encoder head, mrr/map/recall@k/ndcg@k/hits@k",
             register_ranking)
