// SST-2 end to end on a tiny BERT (built from config, bert-base-uncased vocab): the GLUE TSV
// (sentence, label) → train → evaluate → save → reload → predict, on the excerpt in
// tests/fixtures/sst2/, with the same options as recipes/sst2.toml.
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

TEST_CASE("SST-2: train, evaluate, save, reload, predict") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("sst2");
  std::string out = dir + "/model";
  const std::string data = test::fixture("sst2");
  write_file_atomic(dir + "/recipe.toml", cat(R"(graft_recipe = 1
[run]
name = "sst2-tiny"
seed = 11
output_dir = ")", out, R"("
[language_model]
type = "bert"
config = { vocab_size = 30522, hidden_size = 32, num_hidden_layers = 1, num_attention_heads = 2, intermediate_size = 37, max_position_embeddings = 64 }
[tokenizer]
type = "wordpiece"
vocab = ")", test::fixture("tokenizers/models/bert-base-uncased/vocab.txt"), R"("
lowercase = true
[[tasks]]
name = "sentiment"
processor = { type = "tsv_classification", train = ")", data, R"(/train.tsv", test = ")", data, R"(/test.tsv", dev_split = 0.2, text_column = "sentence", label_column = "label", labels = ["0", "1"], max_seq_len = 48 }
head = { type = "text_classification" }
metrics = ["acc", "f1_macro", "mcc"]
[training]
epochs = 10
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
)"));
  TrainingRun run = train_recipe(load_recipe(dir + "/recipe.toml", {}, reg), reg, torch::kCPU, true);
  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 40);
  double first = 0, last = 0;
  for (size_t i = 0; i < 8; ++i) {
    first += steps[i].loss;
    last += steps[steps.size() - 1 - i].loss;
  }
  CHECK(last < first);
  for (const char* m : {"acc", "f1_macro", "mcc", "loss"}) CHECK(run.result.test_metrics.contains(cat("sentiment/", m)));
  Value config = read_json_file(out + "/config.json");
  CHECK(config.at("id2label").at("1").as_string() == "1");

  std::vector<std::string> texts = {"a charming and often affecting journey", "unflinchingly bleak and desperate"};
  Inferencer mem(run.build.bundle);
  auto a = mem.infer_texts(texts);
  auto b = Inferencer::load(out, reg).infer_texts(texts);
  REQUIRE(b.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(a[i].at("label") == b[i].at("label"));
    CHECK(b[i].at("probability").as_double() == doctest::Approx(a[i].at("probability").as_double()).epsilon(1e-5));
    CHECK(b[i].at("probabilities").size() == 2);
  }
}
