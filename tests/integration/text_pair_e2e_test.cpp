// Text pairs end to end on a tiny BERT: pair classification (tsv_classification with
// text_pair_column, NLI/MRPC style) and passage ranking (tsv_ranking + passage_ranking, metrics
// mrr / recall@k / ndcg@k), each trained, evaluated, saved, reloaded and used for prediction, on
// FARM's text_pair sample (tests/fixtures/ranking/).
#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/inferencer.h>
#include <graft/core/json.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/error.h>

#include <doctest/doctest.h>

using namespace graft;
using namespace graft::core;

namespace {

std::string recipe(const std::string& out, const std::string& task, int epochs) {
  return cat(R"(graft_recipe = 1
[run]
name = "pairs-tiny"
seed = 2
output_dir = ")", out, R"("
[language_model]
type = "bert"
config = { vocab_size = 30522, hidden_size = 32, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 37, max_position_embeddings = 128 }
[tokenizer]
type = "wordpiece"
vocab = ")", test::fixture("tokenizers/models/bert-base-uncased/vocab.txt"), R"("
lowercase = true
)", task, R"(
[training]
epochs = )", epochs, R"(
batch_size = 8
progress = false
[data]
cache = false
[optimizer]
type = "adamw"
lr = 3e-3
[schedule]
type = "constant"
)");
}

double mean_loss(const std::vector<StepRecord>& steps, size_t from, size_t n) {
  double s = 0;
  for (size_t i = from; i < from + n; ++i) s += steps[i].loss;
  return s / static_cast<double>(n);
}

}  // namespace

TEST_CASE("pair classification: text + text_b → label, saved and reloaded") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("pair_cls");
  std::string out = dir + "/model";
  const std::string sample = test::fixture("ranking/sample.tsv");
  write_file_atomic(dir + "/recipe.toml",
                    recipe(out, cat(R"([[tasks]]
name = "nli"
processor = { type = "tsv_classification", train = ")", sample, R"(", test = ")", sample, R"(", text_column = "text", text_pair_column = "text_b", label_column = "label", max_seq_len = 96 }
head = { type = "text_classification" }
metrics = ["acc", "f1_macro"])"), 12));
  TrainingRun run = train_recipe(load_recipe(dir + "/recipe.toml", {}, reg), reg, torch::kCPU, true);
  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 20);
  CHECK(mean_loss(steps, steps.size() - 3, 3) < mean_loss(steps, 0, 3));
  CHECK(run.result.test_metrics.contains("nli/acc"));
  auto loaded = Inferencer::load(out, reg);
  auto p = loaded.infer_texts({"who won the academy award for the deer hunter"}, {"The Deer Hunter won five Oscars."});
  REQUIRE(p.size() == 1);
  CHECK(p[0].at("probabilities").size() == 3);
  auto m = Inferencer(run.build.bundle).infer_texts({"who won the academy award for the deer hunter"},
                                                    {"The Deer Hunter won five Oscars."});
  CHECK(m[0].at("label") == p[0].at("label"));
}

TEST_CASE("passage ranking: (query, passage, relevance) rows, ranking metrics, saved and reloaded") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("ranking");
  std::string out = dir + "/model";
  const std::string train = test::fixture("ranking/train.tsv");
  write_file_atomic(dir + "/recipe.toml",
                    recipe(out, cat(R"([[tasks]]
name = "rank"
processor = { type = "tsv_ranking", train = ")", train, R"(", test = ")", train, R"(", query_id_column = "qid", query_column = "query", passage_column = "passage", label_column = "label", max_seq_len = 96 }
head = { type = "passage_ranking", max_relevance = 2 }
metrics = ["mrr", "recall@1", "ndcg@3", "map"])"), 6));
  TrainingRun run = train_recipe(load_recipe(dir + "/recipe.toml", {}, reg), reg, torch::kCPU, true);
  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 20);
  CHECK(mean_loss(steps, steps.size() - 5, 5) < mean_loss(steps, 0, 5));
  for (const char* m : {"mrr", "recall@1", "ndcg@3", "map", "loss"}) {
    CAPTURE(m);
    REQUIRE(run.result.test_metrics.contains(cat("rank/", m)));
    double v = run.result.test_metrics.at(cat("rank/", m)).as_double();
    CHECK(v >= 0.0);
    if (std::string(m) != "loss") CHECK(v <= 1.0);
  }
  // 17 queries × 4 passages; mrr ≥ 1/4 whatever the model does (every query has one relevant passage among 4)
  CHECK(run.result.test_metrics.at("rank/mrr").as_double() >= 0.25);

  auto loaded = Inferencer::load(out, reg);
  CHECK(loaded.bundle().tasks.at(0).head_type == "passage_ranking");
  std::vector<Value> dicts;
  for (const char* passage : {"The Deer Hunter won five Academy Awards.", "Retrieved March 27 , 2018 ."}) {
    Value d = Value::object();
    d.set("query", "who won the academy award for the deer hunter");
    d.set("passage", passage);
    dicts.push_back(d);
  }
  auto a = loaded.infer(dicts);
  auto b = Inferencer(run.build.bundle).infer(dicts);
  REQUIRE(a.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(a[i].dump_json());
    CHECK(a[i].at("score").as_double() == doctest::Approx(b[i].at("score").as_double()).epsilon(1e-5));
    CHECK(a[i].at("probability").as_double() > 0.0);
    CHECK(a[i].at("query_id").as_string() == "who won the academy award for the deer hunter");
  }
  auto ev = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '", train, "'"));
  CHECK_MESSAGE(ev.exit_code == 0, ev.err);
  CHECK(ev.out.find("rank/ndcg@3") != std::string::npos);

  // bad input: a relevance that is not a number ≥ 0
  write_file_atomic(dir + "/bad.tsv", "qid\tquery\tpassage\tlabel\nq1\twhat\tthat\t1\nq1\twhat\tthis\t-1\nq2\thow\tso\tyes\n");
  auto bad = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '", dir, "/bad.tsv'"));
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find(dir + "/bad.tsv:3") != std::string::npos);
  CHECK(bad.err.find("relevance '-1' in column 'label' is not a number >= 0") != std::string::npos);
}
