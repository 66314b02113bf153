// load_recipe against a registry of stand-in components: typed sections, component options,
// path resolution, every problem at once, and the resolved recipe round trip.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/error.h>
#include <graft/version.h>

#include "../recipes/fake_registry.h"
#include "test_support.h"

#include <filesystem>

using namespace graft;

namespace {

core::Registry& fakes() {
  static core::Registry* r = [] {
    auto* reg = new core::Registry();
    reg->register_builtin("fakes", &test::register_fake_components);
    return reg;
  }();
  return *r;
}

std::string write_recipe(const std::string& text, const std::string& name = "recipe.toml") {
  std::string dir = test::temp_dir("recipe");
  std::string path = dir + "/" + name;
  core::write_file_atomic(path, text);
  return path;
}

const char* kGood = R"(graft_recipe = 1

[run]
name = "demo"
seed = 7

[language_model]
checkpoint = "./models/tiny"

[tokenizer]
type = "wordpiece"
vocab = "vocab.txt"
lowercase = false

[[tasks]]
name = "sentiment"
processor = { type = "tsv_classification", train = "data/train.tsv", dev_split = 0.1 }
head = { type = "text_classification", labels = ["neg", "pos"] }
metrics = ["accuracy", "f1_macro"]

[training]
epochs = 2
precision = "bf16"
early_stopping = { metric = "sentiment/acc", patience = 2 }

[optimizer]
lr = 3e-5

[tracking]
mlflow = "runs/mlruns"
)";

std::string load_error(const std::string& text, const std::vector<std::string>& sets = {}) {
  std::string path = write_recipe(text);
  try {
    core::load_recipe(path, sets, fakes());
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    // the temp path differs per run
    for (size_t p; (p = msg.find(path)) != std::string::npos;) msg.replace(p, path.size(), "R");
    return msg;
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a valid recipe becomes typed sections and component options") {
  std::string path = write_recipe(kGood);
  auto r = core::load_recipe(path, {}, fakes());
  std::string dir = std::filesystem::path(path).parent_path().string();
  CHECK(r.base_dir == dir);
  CHECK(r.run.name == "demo");
  CHECK(r.run.seed == 7);
  CHECK(r.run.output_dir == "runs/{name}");
  CHECK(r.language_model.checkpoint == dir + "/models/tiny");
  CHECK(r.tokenizer.type == "wordpiece");
  REQUIRE(r.tokenizer.parsed);
  CHECK(r.tokenizer.options.dump_json() == R"({"vocab":"vocab.txt","lowercase":false})");
  REQUIRE(r.tasks.size() == 1);
  const auto& t = r.tasks[0];
  CHECK(t.name == "sentiment");
  CHECK(t.processor_type == "tsv_classification");
  CHECK(static_cast<const OptionsHolder<test::FakeTsvOptions>&>(*t.processor).value.dev_split == 0.1);
  CHECK(static_cast<const OptionsHolder<test::FakeHeadOptions>&>(*t.head).value.labels ==
        std::vector<std::string>{"neg", "pos"});
  CHECK(t.metrics == std::vector<std::string>{"acc", "f1_macro"});  // alias resolved
  CHECK(t.head_table.dump_json() == R"({"labels":["neg","pos"]})");
  CHECK(r.training.epochs == 2);
  CHECK(r.training.precision == "bf16");
  CHECK(r.training.early_stopping.dump_json() ==
        R"({"metric":"sentiment/acc","mode":"max","patience":2,"min_delta":0.0,"restore_best":true})");
  CHECK(r.optimizer.lr == 3e-5);
  CHECK(r.optimizer.type == "adamw");
  CHECK(r.tracking.mlflow == dir + "/runs/mlruns");
}

TEST_CASE("--set overrides apply before validation") {
  std::string path = write_recipe(kGood);
  auto r = core::load_recipe(path, {"training.epochs=5", "tasks[0].head.dropout=0.3"}, fakes());
  CHECK(r.training.epochs == 5);
  CHECK(static_cast<const OptionsHolder<test::FakeHeadOptions>&>(*r.tasks[0].head).value.dropout == 0.3);
  CHECK(load_error(kGood, {"training.epochs=zero"}) ==
        "recipe R has 1 problem\n"
        "  --set training.epochs=zero  training.epochs: expected integer, got string \"zero\"");
}

TEST_CASE("the resolved recipe fills every default and loads back to the same thing") {
  std::string path = write_recipe(kGood);
  auto r = core::load_recipe(path, {}, fakes());
  Value resolved = core::resolved_recipe(r, fakes());
  CHECK(resolved.at("training").at("batch_size").as_int() == 32);
  CHECK(resolved.at("schedule").at("type").as_string() == "linear");
  CHECK(resolved.at("tasks").as_array()[0].at("processor").at("max_seq_len").as_int() == 128);
  CHECK(resolved.at("tokenizer").at("type").as_string() == "wordpiece");
  CHECK(resolved.at("plugins").at("versions").at("fakes").as_string() == GRAFT_VERSION);
  std::string text = core::to_toml(resolved);
  std::string again_path = write_recipe(text, "resolved_recipe.toml");
  auto again = core::load_recipe(again_path, {}, fakes());
  CHECK(core::to_toml(core::resolved_recipe(again, fakes())) == text);
}

TEST_CASE("every problem is reported at once, in document order") {
  CHECK(load_error(R"(graft_recipe = 1
[run]
seeed = 1
device = "gpu"
[language_model]
checkpoint = "bert-base-uncased"
[[tasks]]
name = "a"
processor = { type = "tsv_classification", train = "t.tsv", max_seq_len = 4 }
head = { type = "text_clasification" }
metrics = ["acc", "f2"]
[[tasks]]
name = "a"
processor = { train = "t.tsv" }
head = { type = "token_classification", pooling = "max" }
[training]
batch_size = "32"
early_stopping = { metric = "b/acc" }
[optimiser]
lr = 1
)") == "recipe R has 11 problems\n"
       "  R:19:1  optimiser: unknown section 'optimiser'; did you mean 'optimizer'? (known: checkpoint, cross_validation, data, "
       "demo, graft_recipe, language_model, optimizer, plugins, run, schedule, tasks, tokenizer, tracking, training)\n"
       "  R:3:9  run.seeed: unknown key 'seeed'; did you mean 'seed'? (known keys: device, name, output_dir, seed, "
       "threads)\n"
       "  R:4:10  run.device: expected auto, cpu, cuda or cuda:N, got \"gpu\"\n"
       "  R:9:75  tasks[0].processor.max_seq_len: expected a value >= 8, got 4\n"
       "  R:10:17  tasks[0].head.type: no head named 'text_clasification'; did you mean 'text_classification'? "
       "(known heads: text_classification, token_classification)\n"
       "  R:11:19  tasks[0].metrics[1]: no metric named 'f2' (known metrics: acc, f1_macro)\n"
       "  R:13:8  tasks[1].name: task name 'a' is already used by tasks[0]\n"
       "  R:14:13  tasks[1].processor.type: missing required key (one of: tsv_classification)\n"
       "  R:15:51  tasks[1].head.pooling: \"max\" is not one of: cls, mean; did you mean \"mean\"?\n"
       "  R:17:14  training.batch_size: expected integer, got string \"32\"\n"
       "  R:18:29  training.early_stopping.metric: \"b/acc\" does not name a task's metric; expected "
       "\"<task>/<metric>\" with a task of this recipe (a, a)\n"
       "  plugin search path: (empty)\n"
       "hint: `graft plugins list` shows every plugin found and why any was skipped");
}

TEST_CASE("version, syntax and file problems stop before validation") {
  CHECK(load_error("graft_recipe = 2\n") ==
        "R:1:16: graft_recipe: recipe format version 2 is not supported; graft " GRAFT_VERSION " reads version 1");
  CHECK(load_error("[run]\nname = 'x'\n") ==
        "R: missing `graft_recipe = 1` (the recipe format version) at the top of the file");
  CHECK(load_error("graft_recipe = '1'\n") == "R:1:16: graft_recipe: expected integer, got string");
  CHECK(load_error("graft_recipe = 1\n[run\n") == "R:2:5: TOML syntax error: Error while parsing table header: expected ']', saw '\\n'");
  CHECK_THROWS_WITH_AS(core::load_recipe("/nonexistent/recipe.toml", {}, fakes()),
                       "/nonexistent/recipe.toml: no such file", ConfigError);
}

TEST_CASE("missing sections and a tokenizer without type") {
  CHECK(load_error("graft_recipe = 1\n[tokenizer]\nvocab = 'v.txt'\n") ==
        "recipe R has 3 problems\n"
        "  R  language_model: missing required section [language_model] (at least `checkpoint = \"...\"`)\n"
        "  R:2:1  tokenizer.type: missing required key: tokenizer options need a `type` (one of: wordpiece)\n"
        "  R  tasks: missing [[tasks]]: a recipe needs at least one task (name, processor, head)");
}
