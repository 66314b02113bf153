// Ranking metrics of the ranking plugin against retrieval.json (its formulas, nDCG cross-checked
// with scikit-learn), through the registry and through `graft score`.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/metric.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using graft::Value;

namespace {

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_ranking.so");
    return r;
  }();
  return *reg;
}

double compute(const std::string& name, const graft::MetricInput& in) {
  const auto& entry = registry().metric(name).entry;
  auto opts = entry.make_options();
  return entry.make(*opts, graft::MetricContext{})->compute(in).at(name).as_double();
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

/// One row per (query, document): query ids "q<i>".
graft::MetricInput rows_of(const Value& fx, size_t only_query = SIZE_MAX) {
  graft::MetricInput in;
  const auto& scores = fx.at("inputs").at("scores").as_array();
  const auto& rel = fx.at("inputs").at("relevance").as_array();
  for (size_t q = 0; q < scores.size(); ++q) {
    if (only_query != SIZE_MAX && q != only_query) continue;
    for (size_t d = 0; d < scores[q].size(); ++d) {
      Value g = Value::object(), p = Value::object();
      g.set("query", graft::cat("q", q));
      g.set("relevance", rel[q].as_array()[d]);
      p.set("query", graft::cat("q", q));
      p.set("score", scores[q].as_array()[d]);
      in.gold.push_back(g);
      in.pred.push_back(p);
    }
  }
  return in;
}

}  // namespace

TEST_CASE("ranking metrics equal the retrieval fixture (means and per query)") {
  std::vector<std::string> files = {graft::test::fixture("metrics/retrieval.json")};
  if (graft::test::have_shared()) files.push_back(graft::test::shared("fixtures/metrics/retrieval.json"));
  for (const auto& file : files) {
    CAPTURE(file);
    Value fx = graft::core::read_json_file(file);
    auto in = rows_of(fx);
    const Value& mean = fx.at("expected").at("mean");
    for (const char* m : {"mrr@10", "mrr", "ndcg@10", "map", "recall@1", "recall@5", "recall@10", "recall@20",
                          "hits@1", "hits@5", "hits@10", "hits@20"}) {
      INFO(m);
      CHECK(close(compute(m, in), mean.at(m).as_double()));
    }
    CHECK(close(compute("ndcg@10", in), fx.at("expected").at("sklearn_ndcg_score_k10").as_double()));
    const auto& per = fx.at("expected").at("per_query").as_array();
    for (size_t q : {size_t{0}, size_t{3}, size_t{17}}) {
      CAPTURE(q);
      auto one = rows_of(fx, q);
      CHECK(close(compute("mrr", one), per[q].at("rr").as_double()));
      CHECK(close(compute("ndcg@10", one), per[q].at("ndcg@10").as_double()));
      CHECK(close(compute("map", one), per[q].at("ap").as_double()));
      CHECK(close(compute("recall@20", one), per[q].at("recall@20").as_double()));
    }
  }
}

TEST_CASE("ranking metrics: rows grouped by query in any order; bad rows are errors naming the value") {
  graft::MetricInput in;
  auto row = [&](const char* q, double rel, double score) {
    Value g = Value::object(), p = Value::object();
    g.set("query", q);
    g.set("relevance", rel);
    p.set("query", q);
    p.set("score", score);
    in.gold.push_back(g);
    in.pred.push_back(p);
  };
  row("a", 0, 0.9);
  row("b", 1, 0.1);
  row("a", 1, 0.5);
  row("b", 0, 0.7);
  row("c", 0, 0.3);  // no relevant passage: left out of the means
  CHECK(close(compute("mrr", in), 0.5));
  CHECK(close(compute("recall@1", in), 0.0));
  CHECK(close(compute("recall@3", in), 1.0));
  CHECK(registry().find_metric("ndcg@100") != nullptr);

  graft::MetricInput bad = in;
  bad.pred[1].set("query", "zzz");
  CHECK_THROWS_WITH_AS(compute("mrr", bad), doctest::Contains("query 'zzz' but the gold row says 'b'"), graft::DataError);
  bad = in;
  bad.gold[0] = Value("a\tmany");
  CHECK_THROWS_WITH_AS(compute("mrr", bad), doctest::Contains("gold value 0 (0-based): the relevance 'many' is not a number"),
                       graft::DataError);
  graft::MetricInput none;
  none.gold = {Value("a\t0")};
  none.pred = {Value("a\t1.5")};
  CHECK_THROWS_WITH_AS(compute("mrr", none), doctest::Contains("none of the 1 queries has a relevant passage"),
                       graft::DataError);
}

TEST_CASE("graft score: ranking rows QUERY<TAB>RELEVANCE / QUERY<TAB>SCORE") {
  Value fx = graft::core::read_json_file(graft::test::fixture("metrics/retrieval.json"));
  auto in = rows_of(fx);
  std::string gold, pred;
  for (size_t i = 0; i < in.gold.size(); ++i) {
    gold += graft::cat(in.gold[i].at("query").as_string(), "\t", in.gold[i].at("relevance").as_int(), "\n");
    std::ostringstream os;
    os.precision(17);
    os << in.pred[i].at("score").as_double();
    pred += graft::cat(in.pred[i].at("query").as_string(), "\t", os.str(), "\n");
  }
  std::string dir = graft::test::temp_dir("rank_score");
  graft::core::write_file_atomic(dir + "/gold.tsv", gold);
  graft::core::write_file_atomic(dir + "/pred.tsv", pred);
  std::string pp = "--plugin-path '" + graft::test::plugin_dir() + "' ";
  auto r = graft::test::run_graft(pp + "score mrr ndcg@10 recall@5 --report --gold '" + dir + "/gold.tsv' --pred '" +
                                  dir + "/pred.tsv'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Value out = graft::core::parse_json(r.out, "stdout");
  const Value& mean = fx.at("expected").at("mean");
  CHECK(close(out.at("mrr").as_double(), mean.at("mrr").as_double()));
  CHECK(close(out.at("ndcg@10").as_double(), mean.at("ndcg@10").as_double()));
  CHECK(close(out.at("recall@5").as_double(), mean.at("recall@5").as_double()));
  CHECK(r.err.find("40 queries with a relevant passage") != std::string::npos);

  graft::core::write_file_atomic(dir + "/bad.tsv", "q0\t1\nq0 x\n");
  graft::core::write_file_atomic(dir + "/two.tsv", "q0\t1\nq0\t0\n");
  r = graft::test::run_graft(pp + "score mrr --gold '" + dir + "/two.tsv' --pred '" + dir + "/bad.tsv'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(dir + "/bad.tsv:2: the score 'x' is not a number") != std::string::npos);
}
