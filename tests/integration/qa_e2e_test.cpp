// Extractive QA end to end on a tiny BERT built from config (bert-base-uncased vocabulary, 73
// SQuAD 1.1 questions): train → evaluate (official SQuAD EM/F1) → save → reload → predict.
#include "test_support.h"

#include <graft/core/inferencer.h>
#include <graft/core/json.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

TEST_CASE("tiny QA model: train, evaluate, save, reload, predict answers with offsets") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string out = test::temp_dir("qa-e2e") + "/model";
  Recipe recipe = load_recipe(test::fixture("qa/tiny_recipe.toml"), {cat("run.output_dir=\"", out, "\"")}, reg);
  TrainingRun run = train_recipe(recipe, reg, torch::kCPU, true);

  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 8);
  double first = 0, last = 0;
  for (size_t i = 0; i < 3; ++i) {
    first += steps[i].loss;
    last += steps[steps.size() - 1 - i].loss;
  }
  CHECK(last < first);
  // dev split of SQuAD 1.1 → exact_match/f1; FARM's eval sample (has an unanswerable question) → v2 keys
  CHECK(run.result.dev_metrics.contains("qa/exact_match"));
  CHECK(run.result.dev_metrics.contains("qa/f1"));
  CHECK(run.result.test_metrics.contains("qa/HasAns_exact"));
  CHECK(run.result.test_metrics.contains("qa/NoAns_total"));

  Value config = read_json_file(out + "/config.json");
  CHECK(config.at("architectures").as_array().at(0).as_string() == "BertForQuestionAnswering");
  StateDict sd = read_safetensors(out + "/model.safetensors");
  CHECK(sd.contains("qa_outputs.weight"));

  std::vector<Value> inputs;
  const std::string ctx =
      "The Normans (Norman: Nourmands; French: Normands; Latin: Normanni) were the people who in the 10th and 11th "
      "centuries gave their name to Normandy, a region in France. They were descended from Norse raiders and pirates "
      "from Denmark, Iceland and Norway who, under their leader Rollo, agreed to swear fealty to King Charles III.";
  for (const char* q : {"In what country is Normandy located?", "Who was the leader of the Norse raiders?"}) {
    Value d = Value::object();
    d.set("question", q);
    d.set("context", ctx);
    inputs.push_back(d);
  }
  Inferencer mem(run.build.bundle);
  auto a = mem.infer(inputs);
  auto loaded = Inferencer::load(out, reg);
  auto b = loaded.infer(inputs);
  REQUIRE(b.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CAPTURE(b[i].dump_json());
    CHECK(b[i].at("question") == inputs[i].at("question"));
    REQUIRE(b[i].at("answers").size() >= 1);
    CHECK(a[i].at("answers").as_array()[0].at("answer") == b[i].at("answers").as_array()[0].at("answer"));
    for (const auto& ans : b[i].at("answers").as_array()) {
      int64_t s = ans.at("start").as_int(), e = ans.at("end").as_int();
      if (ans.at("answer").as_string().empty()) continue;
      CHECK(ctx.substr(static_cast<size_t>(s), static_cast<size_t>(e - s)) == ans.at("answer").as_string());
      CHECK(ans.at("context").as_string().find(ans.at("answer").as_string()) != std::string::npos);
      CHECK(ans.at("probability").as_double() > 0.0);
    }
  }

  // CLI: --file with one JSON object per line
  std::string file = test::temp_dir("qa-e2e") + "/questions.jsonl";
  {
    std::ofstream f(file);
    for (const auto& d : inputs) f << d.dump_json() << "\n";
  }
  auto inf = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' infer '", out, "' --file '", file, "'"));
  REQUIRE_MESSAGE(inf.exit_code == 0, inf.err);
  Value line = parse_json(inf.out.substr(0, inf.out.find('\n')), "graft infer stdout");
  CHECK(line.at("answers").as_array()[0].at("answer") == b[0].at("answers").as_array()[0].at("answer"));
  // CLI eval on a SQuAD file: the official v1.1 keys
  auto ev = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '",
                                test::fixture("qa/squad_v1_1_excerpt.json"), "'"));
  CHECK_MESSAGE(ev.exit_code == 0, ev.err);
  CHECK(ev.out.find("qa/exact_match") != std::string::npos);
  CHECK(ev.out.find("qa/f1") != std::string::npos);
  // a bad input names itself
  auto bad = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' infer '", out, "' --text 'no question'"));
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("question") != std::string::npos);
}
