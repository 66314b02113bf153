// NER end to end on a tiny BERT built from config (bert-base-uncased vocabulary, 13 CoNLL-2003
// sentences): train → evaluate (seq_f1) → save → reload → predict, through the library and the CLI.
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
#include <sstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

TEST_CASE("tiny NER model: train, evaluate, save, reload, predict entity spans") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string out = test::temp_dir("ner-e2e") + "/model";
  Recipe recipe = load_recipe(test::fixture("ner/tiny_recipe.toml"), {cat("run.output_dir=\"", out, "\"")}, reg);
  TrainingRun run = train_recipe(recipe, reg, torch::kCPU, true);

  // learning: the loss of the last steps is well below the first
  const auto& steps = run.result.steps;
  REQUIRE(steps.size() >= 10);
  double first = 0, last = 0;
  for (size_t i = 0; i < 3; ++i) {
    first += steps[i].loss;
    last += steps[steps.size() - 1 - i].loss;
  }
  CHECK(last < 0.6 * first);
  CHECK(run.result.test_metrics.contains("ner/seq_f1"));
  CHECK(run.result.test_metrics.contains("ner/loss"));
  CHECK(run.result.dev_metrics.contains("ner/seq_precision"));
  CHECK(run.result.test_reports.at("ner").find("micro avg") != std::string::npos);

  // an HF *ForTokenClassification directory
  Value config = read_json_file(out + "/config.json");
  CHECK(config.at("architectures").as_array().at(0).as_string() == "BertForTokenClassification");
  CHECK(config.at("id2label").at("0").as_string() == "O");
  StateDict sd = read_safetensors(out + "/model.safetensors");
  CHECK(sd.contains("classifier.weight"));

  // reloaded predictions equal the in-memory ones, one per input, entity spans into the text
  std::vector<Value> inputs;
  for (const char* t : {"EU rejects German call to boycott British lamb .", "Peter Blackburn",
                        "BRUSSELS 1996-08-22"}) {
    Value d = Value::object();
    d.set("text", t);
    inputs.push_back(d);
  }
  Inferencer mem(run.build.bundle);
  auto a = mem.infer(inputs);
  auto loaded = Inferencer::load(out, reg);
  auto b = loaded.infer(inputs);
  REQUIRE(a.size() == 3);
  REQUIRE(b.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(b[i].dump_json());
    CHECK(a[i].at("tags") == b[i].at("tags"));
    CHECK(b[i].at("words").size() == b[i].at("tags").size());
    const std::string text = inputs[i].at("text").as_string();
    for (const auto& e : b[i].at("entities").as_array()) {
      int64_t s = e.at("start").as_int(), en = e.at("end").as_int();
      CHECK(text.substr(static_cast<size_t>(s), static_cast<size_t>(en - s)) == e.at("text").as_string());  // ASCII
      CHECK(e.at("score").as_double() > 0.0);
      CHECK(!e.at("type").as_string().empty());
    }
  }
  // the training sentence is learnt: EU is an organisation
  CHECK(b[0].at("tags").as_array()[0].as_string() == "B-ORG");

  // CLI: infer prints one JSON line per input; eval scores a CoNLL file
  auto inf = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' infer '", out, "' --text 'Peter Blackburn'"));
  REQUIRE_MESSAGE(inf.exit_code == 0, inf.err);
  Value line = parse_json(inf.out.substr(0, inf.out.find('\n')), "graft infer stdout");
  CHECK(line.at("tags") == b[1].at("tags"));
  auto ev = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' eval '", out, "' --data '",
                                test::fixture("ner/conll03_dev_excerpt.txt"), "'"));
  CHECK_MESSAGE(ev.exit_code == 0, ev.err);
  CHECK(ev.out.find("ner/seq_f1") != std::string::npos);
}
