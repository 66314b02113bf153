// End to end on a tiny BERT built from config: train → eval → save → load → infer, through the
// library and through the CLI.
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

const std::vector<std::string> kTexts = {"the movie was great", "a boring and awful film", "it is very nice",
                                         "plot poor", "good"};

Recipe tiny_recipe(Registry& reg, const std::string& out, std::vector<std::string> extra = {}) {
  extra.push_back(cat("run.output_dir=\"", out, "\""));
  return load_recipe(test::fixture("training/tiny/recipe.toml"), extra, reg);
}

void check_same_predictions(const std::vector<Value>& a, const std::vector<Value>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].dump_json());
    CAPTURE(b[i].dump_json());
    CHECK(a[i].at("label") == b[i].at("label"));
    CHECK(a[i].at("probability").as_double() == doctest::Approx(b[i].at("probability").as_double()).epsilon(1e-5));
  }
}

}  // namespace

TEST_CASE("tiny model: train, save, load, infer (library) and eval/infer (CLI)") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string out = test::temp_dir("tiny") + "/model";
  Recipe recipe = tiny_recipe(reg, out);
  TrainingRun run = train_recipe(recipe, reg, torch::kCPU, true);

  // files of the model directory
  CHECK(run.output_dir == out);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "graft.toml",
                        "resolved_recipe.toml", "metrics.json"})
    CHECK_MESSAGE(fs::exists(out + "/" + f), f);
  Value config = read_json_file(out + "/config.json");
  REQUIRE(config.contains("architectures"));
  CHECK(config.at("architectures").as_array().at(0).as_string() == "BertForSequenceClassification");
  CHECK(config.contains("id2label"));
  StateDict sd = read_safetensors(out + "/model.safetensors");
  CHECK(sd.contains("bert.embeddings.word_embeddings.weight"));
  CHECK(sd.contains("classifier.weight"));

  // metrics keys and learning
  CHECK(run.result.test_metrics.contains("sentiment/acc"));
  CHECK(run.result.test_metrics.contains("sentiment/f1_macro"));
  CHECK(run.result.test_metrics.contains("sentiment/loss"));
  CHECK(run.result.dev_metrics.contains("sentiment/acc"));
  CHECK(run.result.test_metrics.at("sentiment/acc").as_double() > 0.7);
  CHECK_FALSE(run.result.test_reports.at("sentiment").empty());
  Value summary = read_json_file(out + "/metrics.json");
  CHECK(summary.at("test").contains("sentiment/acc"));

  // reloaded predictions equal the in-memory ones
  Inferencer mem(run.build.bundle);
  auto a = mem.infer_texts(kTexts);
  auto loaded = Inferencer::load(out, reg);
  auto b = loaded.infer_texts(kTexts);
  check_same_predictions(a, b);
  CHECK(b[0].contains("probabilities"));
  CHECK(loaded.bundle().tasks.at(0).metrics == std::vector<std::string>{"acc", "f1_macro"});

  // same seed → same losses (a second run, not saved)
  TrainingRun again = train_recipe(tiny_recipe(reg, out + "-2"), reg, torch::kCPU, false);
  REQUIRE(again.result.steps.size() == run.result.steps.size());
  for (size_t i = 0; i < run.result.steps.size(); ++i) CHECK(again.result.steps[i].loss == run.result.steps[i].loss);

  // CLI: eval prints metrics JSON + report; infer one JSON line per input, in order
  std::string test_tsv = test::fixture("training/tiny/test.tsv");
  auto ev = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '", test_tsv, "'"));
  CHECK_MESSAGE(ev.exit_code == 0, ev.err);
  auto json_end = ev.out.find("\n}");
  REQUIRE(json_end != std::string::npos);
  Value m = parse_json(ev.out.substr(0, json_end + 2), "graft eval stdout");
  CHECK(m.at("sentiment/acc").as_double() == doctest::Approx(run.result.test_metrics.at("sentiment/acc").as_double()));
  CHECK(m.at("sentiment/records").as_int() == 40);

  std::string args;
  for (const auto& t : kTexts) args += cat(" --text '", t, "'");
  auto inf = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' infer '", out, "'", args));
  CHECK_MESSAGE(inf.exit_code == 0, inf.err);
  std::istringstream lines(inf.out);
  std::vector<Value> cli;
  for (std::string line; std::getline(lines, line);) cli.push_back(parse_json(line, "graft infer stdout"));
  check_same_predictions(a, cli);

  // CLI errors: missing data file (exit 3, names it), no inputs (exit 2), unknown task (exit 2)
  auto bad = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '", out, "/nope.tsv'"));
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("nope.tsv") != std::string::npos);
  CHECK(test::run_graft(cat("infer '", out, "'")).exit_code == 2);
  auto bad_task = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' infer '", out, "' --task x --text hi"));
  CHECK(bad_task.exit_code == 2);
  CHECK(bad_task.err.find("no task 'x'") != std::string::npos);
  for (const char* cmd : {"train", "eval", "infer"}) {
    auto h = test::run_graft(cat(cmd, " --help"));
    CHECK(h.exit_code == 0);
    CHECK(h.out.find(cat("graft ", cmd)) != std::string::npos);
  }
}

TEST_CASE("two tasks: heads saved under heads.<task>. and reloaded; an empty training file is a DataError") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("multi");
  std::string out = dir + "/model";
  std::string tiny = test::fixture("training/tiny");
  std::string recipe_text = read_file(tiny + "/recipe.toml");
  recipe_text.replace(recipe_text.find("epochs = 6"), 10, "epochs = 1");
  auto task_line = recipe_text.substr(recipe_text.find("[[tasks]]"), recipe_text.find("[training]") - recipe_text.find("[[tasks]]"));
  std::string second = task_line;
  second.replace(second.find("name = \"sentiment\""), 18, "name = \"polarity\"");
  recipe_text.insert(recipe_text.find("[training]"), second);
  for (const char* f : {"vocab.txt", "train.tsv", "test.tsv"}) fs::copy_file(tiny + "/" + f, dir + "/" + f);
  write_file_atomic(dir + "/recipe.toml", recipe_text);
  Recipe recipe = load_recipe(dir + "/recipe.toml", {cat("run.output_dir=\"", out, "\"")}, reg);
  TrainingRun run = train_recipe(recipe, reg, torch::kCPU, true);
  StateDict sd = read_safetensors(out + "/model.safetensors");
  CHECK(sd.contains("heads.sentiment.classifier.weight"));
  CHECK(sd.contains("heads.polarity.classifier.weight"));
  CHECK(read_json_file(out + "/config.json").at("architectures").as_array().at(0).as_string() == "BertModel");
  Inferencer mem(run.build.bundle);
  auto loaded = Inferencer::load(out, reg);
  auto a = mem.infer_texts(kTexts), b = loaded.infer_texts(kTexts);
  REQUIRE(b.size() == kTexts.size());
  for (size_t i = 0; i < a.size(); ++i) {
    check_same_predictions({a[i].at("sentiment")}, {b[i].at("sentiment")});
    check_same_predictions({a[i].at("polarity")}, {b[i].at("polarity")});
  }
  CHECK_THROWS_AS(loaded.infer_texts(kTexts, {}, "nope"), ConfigError);

  write_file_atomic(dir + "/empty.tsv", "text\tlabel\n");
  std::string empty_text = recipe_text;
  empty_text.replace(empty_text.find("train = \"train.tsv\""), 19, "train = \"empty.tsv\"");
  write_file_atomic(dir + "/empty.toml", empty_text);
  Recipe empty = load_recipe(dir + "/empty.toml", {}, reg);
  try {
    train_recipe(empty, reg, torch::kCPU, false);
    FAIL("expected DataError");
  } catch (const DataError& e) {
    CAPTURE(std::string(e.what()));
    CHECK(std::string(e.what()).find("training set is empty") != std::string::npos);
  }
}
