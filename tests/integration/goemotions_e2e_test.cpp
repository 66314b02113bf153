// GoEmotions multilabel end to end on a tiny BERT (built from config, bert-base-uncased vocab):
// GoEmotions' header-less id-list TSV → train → evaluate → save → reload → predict (library and
// CLI), on the excerpt in tests/fixtures/goemotions/.
#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/inferencer.h>
#include <graft/core/json.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

std::string recipe_text(const std::string& out) {
  const std::string data = test::fixture("goemotions");
  return cat(R"(graft_recipe = 1
[run]
name = "goemotions-tiny"
seed = 3
output_dir = ")", out, R"("
[language_model]
type = "bert"
config = { vocab_size = 30522, hidden_size = 32, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 37, max_position_embeddings = 64 }
[tokenizer]
type = "wordpiece"
vocab = ")", test::fixture("tokenizers/models/bert-base-uncased/vocab.txt"), R"("
lowercase = true
[[tasks]]
name = "emotions"
processor = { type = "tsv_multilabel", train = ")", data, R"(/train.tsv", test = ")", data, R"(/dev.tsv", dev_split = 0.2, quote_char = "", column_names = ["text", "labels", "id"], label_column = "labels", label_format = "ids", labels_file = ")", data, R"(/labels.txt", max_seq_len = 32 }
head = { type = "multilabel_classification", threshold = 0.3 }
metrics = ["ml_f1_micro", "ml_f1_macro", "ml_f1_samples", "hamming_loss", "subset_accuracy", "roc_auc_macro"]
[training]
epochs = 4
batch_size = 16
progress = false
[data]
cache = false
[optimizer]
type = "adamw"
lr = 3e-3
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

TEST_CASE("GoEmotions multilabel: train, evaluate, save, reload, predict") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("goemotions");
  std::string out = dir + "/model";
  write_file_atomic(dir + "/recipe.toml", recipe_text(out));
  Recipe recipe = load_recipe(dir + "/recipe.toml", {}, reg);
  TrainingRun run = train_recipe(recipe, reg, torch::kCPU, true);

  // the loss went down
  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 20);
  CHECK(mean_loss(steps, steps.size() - 5, 5) < mean_loss(steps, 0, 5));

  // metrics of every kind are reported
  for (const char* m : {"ml_f1_micro", "ml_f1_macro", "ml_f1_samples", "hamming_loss", "subset_accuracy",
                        "roc_auc_macro", "loss"}) {
    CAPTURE(m);
    CHECK(run.result.test_metrics.contains(cat("emotions/", m)));
    CHECK(run.result.dev_metrics.contains(cat("emotions/", m)));
  }
  double hl = run.result.test_metrics.at("emotions/hamming_loss").as_double();
  CHECK(hl >= 0.0);
  CHECK(hl <= 1.0);
  CHECK(run.result.test_reports.at("emotions").find("samples avg") != std::string::npos);

  // the model directory: HF multilabel config with the 28 GoEmotions names
  Value config = read_json_file(out + "/config.json");
  CHECK(config.at("architectures").as_array().at(0).as_string() == "BertForSequenceClassification");
  CHECK(config.at("problem_type").as_string() == "multi_label_classification");
  CHECK(config.at("id2label").size() == 28);
  CHECK(config.at("id2label").at("27").as_string() == "neutral");
  StateDict sd = read_safetensors(out + "/model.safetensors");
  CHECK(sd.at("classifier.weight").size(0) == 28);

  // reloaded predictions equal the in-memory ones
  std::vector<std::string> texts = {"Thank you so much, this is wonderful!", "I am so angry right now",
                                    "What do you mean?"};
  Inferencer mem(run.build.bundle);
  auto a = mem.infer_texts(texts);
  auto loaded = Inferencer::load(out, reg);
  CHECK(loaded.bundle().tasks.at(0).head_type == "multilabel_classification");
  auto b = loaded.infer_texts(texts);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(b[i].dump_json());
    CHECK(a[i].at("labels") == b[i].at("labels"));
    REQUIRE(b[i].at("probabilities").size() == 28);
    for (const auto& [label, p] : b[i].at("probabilities").as_object()) {
      CHECK(p.as_double() == doctest::Approx(a[i].at("probabilities").at(label).as_double()).epsilon(1e-5));
      // a label is predicted exactly when its probability is above the threshold
      bool chosen = false;
      for (const auto& l : b[i].at("labels").as_array()) chosen = chosen || l.as_string() == label;
      CHECK(chosen == (p.as_double() > 0.3));
    }
  }

  // CLI: eval on the header-less GoEmotions file (processor options were saved with the model)
  auto ev = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '",
                                test::fixture("goemotions/dev.tsv"), "'"));
  CHECK_MESSAGE(ev.exit_code == 0, ev.err);
  CHECK(ev.out.find("emotions/ml_f1_macro") != std::string::npos);
  auto inf = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' infer '", out, "' --text 'I love it'"));
  CHECK_MESSAGE(inf.exit_code == 0, inf.err);
  Value one = parse_json(inf.out.substr(0, inf.out.find('\n')), "graft infer stdout");
  CHECK(one.at("probabilities").size() == 28);
}

TEST_CASE("GoEmotions bad rows: unknown ids and label names are reported with file:line and counted") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("goemotions_bad");
  std::string good = read_file(test::fixture("goemotions/train.tsv"));
  // line 2: id 28 is outside 0..27; line 4: not an id; the rest are fine
  std::istringstream in(good);
  std::string text, line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (n == 2) line = "some text\t28\tx1";
    if (n == 4) line = "other text\tjoy\tx2";
    text += line + "\n";
  }
  write_file_atomic(dir + "/train.tsv", text);
  std::string recipe = recipe_text(dir + "/model");
  recipe.replace(recipe.find(test::fixture("goemotions") + "/train.tsv"), (test::fixture("goemotions") + "/train.tsv").size(),
                 dir + "/train.tsv");
  write_file_atomic(dir + "/recipe.toml", recipe);
  // on_error = "fail" (default): the run stops naming both rows
  try {
    train_recipe(load_recipe(dir + "/recipe.toml", {"training.epochs=1"}, reg), reg, torch::kCPU, false);
    FAIL("expected DataError");
  } catch (const DataError& e) {
    std::string msg = e.what();
    CAPTURE(msg);
    CHECK(msg.find(dir + "/train.tsv:2") != std::string::npos);
    CHECK(msg.find("label id '28' is not an index 0..27") != std::string::npos);
    CHECK(msg.find(dir + "/train.tsv:4") != std::string::npos);
    CHECK(msg.find("label id 'joy'") != std::string::npos);
  }
  // on_error = "skip": the run goes on without them
  auto run = train_recipe(load_recipe(dir + "/recipe.toml", {"training.epochs=1", "tasks[0].processor.on_error=\"skip\""}, reg),
                          reg, torch::kCPU, false);
  const auto& td = run.build.silo->task("emotions");
  CHECK(td.skipped == 2);
  CHECK(td.train.size() + td.dev.size() == 158);

  // names format: an unknown label name
  write_file_atomic(dir + "/names.tsv", "text\tlabel\nhappy day\tjoy\nbad day\tanger,nope\n");
  std::string names = recipe_text(dir + "/model2");
  auto p0 = names.find("processor = {");
  auto p1 = names.find('\n', p0);
  names.replace(p0, p1 - p0,
                cat("processor = { type = \"tsv_multilabel\", train = \"", dir, "/names.tsv\", labels = [\"joy\", \"anger\"] }"));
  write_file_atomic(dir + "/names.toml", names);
  try {
    train_recipe(load_recipe(dir + "/names.toml", {}, reg), reg, torch::kCPU, false);
    FAIL("expected DataError");
  } catch (const DataError& e) {
    std::string msg = e.what();
    CAPTURE(msg);
    CHECK(msg.find(dir + "/names.tsv:3") != std::string::npos);
    CHECK(msg.find("unknown label 'nope'") != std::string::npos);
  }
}
