// TOML → Value with positions, Value → TOML, and --set overrides.
#include <doctest/doctest.h>

#include <graft/core/recipe.h>
#include <graft/error.h>

using namespace graft;

TEST_CASE("parse_toml keeps file order and file:line:col on every node") {
  Value v = core::parse_toml("b = 1\na = 'x'\n[t]\nz = [1, 2.5]\n[[arr]]\nk = true\n[[arr]]\nk = false\n", "r.toml");
  const auto& o = v.as_object();
  REQUIRE(o.size() == 4);
  CHECK(o[0].first == "b");
  CHECK(o[1].first == "a");
  CHECK(o[2].first == "t");
  CHECK(o[3].first == "arr");
  CHECK(v.at("a").location().str() == "r.toml:2:5");
  CHECK(v.at("t").at("z").as_array()[1].as_double() == 2.5);
  CHECK(v.at("t").at("z").as_array()[1].location().str() == "r.toml:4:9");
  CHECK(v.at("arr").as_array()[1].at("k").location().str() == "r.toml:8:5");
  CHECK(v.at("arr").as_array()[1].at("k").as_bool() == false);
}

TEST_CASE("TOML syntax errors name file, line and column") {
  CHECK_THROWS_WITH_AS(core::parse_toml("a = 1\nb = = 2\n", "bad.toml"),
                       "bad.toml:2:5: TOML syntax error: Error while parsing value: could not determine value type", ConfigError);
  CHECK_THROWS_WITH_AS(core::read_toml_file("/nonexistent/r.toml"), "/nonexistent/r.toml: no such file", ConfigError);
}

TEST_CASE("to_toml writes tables, arrays of tables and nested tables that read back equal") {
  Value v = core::parse_toml(R"(graft_recipe = 1
[run]
name = "x \"quoted\""
rate = 2e-5
whole = 3.0
[[tasks]]
name = "a"
processor = { type = "tsv", max = 8 }
metrics = ["acc", "f1"]
[[tasks]]
name = "b"
head = { type = "h", inner = { deep = [1, 2] } }
[training]
early_stopping = { metric = "a/acc" }
empty = {}
)",
                             "r.toml");
  std::string text = core::to_toml(v);
  CHECK(text ==
        "graft_recipe = 1\n"
        "\n[run]\nname = \"x \\\"quoted\\\"\"\nrate = 2e-05\nwhole = 3.0\n"
        "\n[training]\nempty = {}\n"
        "\n[training.early_stopping]\nmetric = \"a/acc\"\n"
        "\n[[tasks]]\nname = \"a\"\nmetrics = [\"acc\", \"f1\"]\n"
        "\n[tasks.processor]\ntype = \"tsv\"\nmax = 8\n"
        "\n[[tasks]]\nname = \"b\"\n"
        "\n[tasks.head]\ntype = \"h\"\n"
        "\n[tasks.head.inner]\ndeep = [1, 2]\n");
  // reading it back gives the same values (sub-tables move after plain keys), and writing is stable
  Value again = core::parse_toml(text, "again.toml");
  CHECK(again.at("tasks").as_array()[1].at("head").at("inner").at("deep").as_array()[1].as_int() == 2);
  CHECK(again.at("run").at("rate").as_double() == 2e-5);
  CHECK(core::to_toml(again) == text);
}

TEST_CASE("--set overrides keys, array elements and creates missing tables") {
  Value v = core::parse_toml("[training]\nepochs = 3\n[[tasks]]\nname = 'a'\nhead = { type = 'h' }\n", "r.toml");
  core::apply_override(v, "training.epochs=2");
  core::apply_override(v, "tasks[0].head.dropout = 0.2");
  core::apply_override(v, "run.name=my-run");
  core::apply_override(v, "tasks[0].metrics=[\"acc\", \"f1_macro\"]");
  core::apply_override(v, "training.progress=false");
  core::apply_override(v, "run.output_dir=runs/x y");
  CHECK(v.at("training").at("epochs").as_int() == 2);
  CHECK(v.at("training").at("epochs").location().str() == "--set training.epochs=2");
  CHECK(v.at("tasks").as_array()[0].at("head").at("dropout").as_double() == 0.2);
  CHECK(v.at("run").at("name").as_string() == "my-run");
  CHECK(v.at("run").at("output_dir").as_string() == "runs/x y");
  CHECK(v.at("tasks").as_array()[0].at("metrics").size() == 2);
  CHECK(v.at("training").at("progress").as_bool() == false);
}

TEST_CASE("malformed --set assignments are ConfigErrors") {
  Value v = core::parse_toml("[training]\nepochs = 3\n[[tasks]]\nname = 'a'\n", "r.toml");
  CHECK_THROWS_WITH_AS(core::apply_override(v, "training.epochs"),
                       "--set 'training.epochs': expected KEY=VALUE, e.g. training.epochs=2", ConfigError);
  CHECK_THROWS_WITH_AS(core::apply_override(v, "=3"), "--set '=3': expected KEY=VALUE, e.g. training.epochs=2",
                       ConfigError);
  CHECK_THROWS_WITH_AS(core::apply_override(v, "tasks[3].name=x"),
                       "--set 'tasks[3].name=x': tasks has 1 element, so [3] does not exist", ConfigError);
  CHECK_THROWS_WITH_AS(core::apply_override(v, "training.epochs.x=1"),
                       "--set 'training.epochs.x=1': training.epochs is an integer, not a table", ConfigError);
  CHECK_THROWS_WITH_AS(core::apply_override(v, "training[0]=1"),
                       "--set 'training[0]=1': training is a table, not an array", ConfigError);
  CHECK_THROWS_WITH_AS(core::apply_override(v, "a b=1"),
                       "--set 'a b=1': 'a b' is not a valid key (letters, digits, '_' and '-')", ConfigError);
  CHECK_THROWS_WITH_AS(core::apply_override(v, "tasks[x]=1"), "--set 'tasks[x]=1': expected an index like [0], got [x]",
                       ConfigError);
}
