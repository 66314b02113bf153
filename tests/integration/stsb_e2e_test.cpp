// STS-B pair regression end to end on a tiny BERT (built from config, bert-base-uncased vocab):
// two text columns + a numeric score, standardised targets (mean/std saved with the model and
// undone at prediction time), MSE → evaluate (pearson/spearman/mse/r2) → save → reload → predict,
// on the excerpt in tests/fixtures/stsb/.
#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/inferencer.h>
#include <graft/core/json.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

using namespace graft;
using namespace graft::core;

namespace {

std::string recipe_text(const std::string& out, const std::string& train) {
  const std::string data = test::fixture("stsb");
  return cat(R"(graft_recipe = 1
[run]
name = "stsb-tiny"
seed = 5
output_dir = ")", out, R"("
[language_model]
type = "bert"
config = { vocab_size = 30522, hidden_size = 32, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 37, max_position_embeddings = 64 }
[tokenizer]
type = "wordpiece"
vocab = ")", test::fixture("tokenizers/models/bert-base-uncased/vocab.txt"), R"("
lowercase = true
[[tasks]]
name = "similarity"
processor = { type = "tsv_regression", train = ")", train, R"(", test = ")", data, R"(/test.tsv", dev_split = 0.2, quote_char = "", text_column = "sentence1", text_pair_column = "sentence2", label_column = "score", max_seq_len = 48 }
head = { type = "regression", standardize = true }
metrics = ["pear_spear", "mse", "r2"]
[training]
epochs = 10
batch_size = 16
progress = false
[data]
cache = false
[optimizer]
type = "adamw"
lr = 2e-3
[schedule]
type = "linear"
warmup = 0.1
)");
}

double mean_loss(const std::vector<StepRecord>& steps, size_t from, size_t n) {
  double s = 0;
  for (size_t i = from; i < from + n; ++i) s += steps[i].loss;
  return s / static_cast<double>(n);
}

}  // namespace

TEST_CASE("STS-B pair regression: train, evaluate, save, reload, predict on the target scale") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("stsb");
  std::string out = dir + "/model";
  write_file_atomic(dir + "/recipe.toml", recipe_text(out, test::fixture("stsb/train.tsv")));
  TrainingRun run = train_recipe(load_recipe(dir + "/recipe.toml", {}, reg), reg, torch::kCPU, true);

  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 40);
  CHECK(mean_loss(steps, steps.size() - 8, 8) < mean_loss(steps, 0, 8));
  for (const char* m : {"pearson", "spearman", "corr", "mse", "r2", "loss"}) {
    CAPTURE(m);
    CHECK(run.result.test_metrics.contains(cat("similarity/", m)));
  }

  // the standardisation statistics are the training targets' mean and population std
  const auto& td = run.build.silo->task("similarity");
  double sum = 0, sq = 0;
  for (const auto& b : td.train) sum += b.raw.at("targets").as_array().at(0).as_double();
  const double mean = sum / static_cast<double>(td.train.size());
  for (const auto& b : td.train) {
    double d = b.raw.at("targets").as_array().at(0).as_double() - mean;
    sq += d * d;
  }
  const double sd = std::sqrt(sq / static_cast<double>(td.train.size()));
  Value graft_toml = read_toml_file(out + "/graft.toml");
  const Value& head = graft_toml.at("tasks").as_array().at(0).at("head");
  CHECK(head.at("label_mean").as_array().at(0).as_double() == doctest::Approx(mean).epsilon(1e-6));
  CHECK(head.at("label_std").as_array().at(0).as_double() == doctest::Approx(sd).epsilon(1e-6));
  Value config = read_json_file(out + "/config.json");
  CHECK(config.at("problem_type").as_string() == "regression");
  CHECK(config.at("id2label").at("0").as_string() == "score");

  // predictions: reloaded = in memory, on the 0..5 scale (not standardised)
  std::vector<std::string> a_texts = {"A man is playing a guitar.", "A woman is slicing an onion."};
  std::vector<std::string> b_texts = {"A man plays the guitar.", "A dog runs in the park."};
  Inferencer mem(run.build.bundle);
  auto a = mem.infer_texts(a_texts, b_texts);
  auto loaded = Inferencer::load(out, reg);
  auto b = loaded.infer_texts(a_texts, b_texts);
  REQUIRE(b.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(b[i].dump_json());
    CHECK(b[i].at("value").as_double() == doctest::Approx(a[i].at("value").as_double()).epsilon(1e-5));
    CHECK(b[i].at("value").as_double() > -2.0);
    CHECK(b[i].at("value").as_double() < 7.0);
  }
  // a pair task needs the second text
  CHECK_THROWS_AS(loaded.infer_texts({"only one"}), DataError);

  auto ev = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '",
                                test::fixture("stsb/test.tsv"), "'"));
  CHECK_MESSAGE(ev.exit_code == 0, ev.err);
  CHECK(ev.out.find("similarity/pearson") != std::string::npos);
}

TEST_CASE("STS-B bad rows: a score that is not a number is reported with file:line and counted") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("stsb_bad");
  std::string text = read_file(test::fixture("stsb/train.tsv"));
  // row on line 3: score "n/a"
  size_t l2 = text.find('\n') + 1, l3 = text.find('\n', l2) + 1, l4 = text.find('\n', l3);
  std::string line3 = text.substr(l3, l4 - l3);
  line3 = line3.substr(0, line3.rfind('\t') + 1) + "n/a";
  text = text.substr(0, l3) + line3 + text.substr(l4);
  write_file_atomic(dir + "/train.tsv", text);
  write_file_atomic(dir + "/recipe.toml", recipe_text(dir + "/model", dir + "/train.tsv"));
  try {
    train_recipe(load_recipe(dir + "/recipe.toml", {"training.epochs=1"}, reg), reg, torch::kCPU, false);
    FAIL("expected DataError");
  } catch (const DataError& e) {
    std::string msg = e.what();
    CAPTURE(msg);
    CHECK(msg.find(dir + "/train.tsv:3") != std::string::npos);
    CHECK(msg.find("target 'n/a' in column 'score' is not a number") != std::string::npos);
  }
  auto run = train_recipe(load_recipe(dir + "/recipe.toml", {"training.epochs=1", "tasks[0].processor.on_error=\"skip\""}, reg),
                          reg, torch::kCPU, false);
  const auto& td = run.build.silo->task("similarity");
  CHECK(td.skipped == 1);
  CHECK(td.train.size() + td.dev.size() == 159);
}
