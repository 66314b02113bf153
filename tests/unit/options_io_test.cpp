// read_options / write_options / describe_options: the one options schema, three ways.
#include <doctest/doctest.h>

#include <graft/core/options_io.h>
#include <graft/core/recipe.h>
#include <graft/error.h>

using namespace graft;

namespace {

struct HeadOptions {
  int64_t num_labels = 0;
  std::vector<std::string> labels;
  double dropout = 0.1;
  std::string pooling = "cls";
  bool bias = true;
  std::vector<int64_t> layers{-1};
  std::vector<double> weights;
  Value extra;
  void visit(OptionVisitor& v) {
    v.required("num_labels", num_labels, "number of labels", at_least(2));
    v.optional("labels", labels, "label names in index order");
    v.optional("dropout", dropout, "dropout before the classifier", in_range(0.0, 1.0));
    v.optional("pooling", pooling, "how tokens are pooled", one_of({"cls", "mean"}));
    v.optional("bias", bias, "use a bias");
    v.optional("layers", layers, "hidden layers to use");
    v.optional("weights", weights, "class weights", at_least(0.0));
    v.optional("extra", extra, "anything");
  }
  void check(Diagnostics& d) const {
    if (!labels.empty() && static_cast<int64_t>(labels.size()) != num_labels)
      d.error("labels", cat("has ", labels.size(), " names but num_labels is ", num_labels));
  }
};

Value table(const std::string& toml) { return core::parse_toml(toml, "h.toml"); }

std::string read(OptionsHolder<HeadOptions>& o, const std::string& toml, const core::ReadMode& mode = {}) {
  Diagnostics d;
  Diagnostics scope = d.child("head", {"h.toml", 1, 1});
  core::read_options(o, table(toml), scope, mode);
  return d.format();
}

}  // namespace

TEST_CASE("a valid table fills every field; integers promote to floats") {
  OptionsHolder<HeadOptions> o;
  CHECK(read(o, "num_labels = 3\nlabels = ['a','b','c']\ndropout = 0\npooling = 'mean'\nbias = false\n"
               "layers = [-1, -2]\nweights = [1, 2.5]\nextra = { k = 1 }\n") == "");
  CHECK(o.value.num_labels == 3);
  CHECK(o.value.labels == std::vector<std::string>{"a", "b", "c"});
  CHECK(o.value.dropout == 0.0);
  CHECK(o.value.pooling == "mean");
  CHECK_FALSE(o.value.bias);
  CHECK(o.value.layers == std::vector<int64_t>{-1, -2});
  CHECK(o.value.weights == std::vector<double>{1.0, 2.5});
  CHECK(o.value.extra.at("k").as_int() == 1);
}

TEST_CASE("type mismatches name expected and actual types") {
  OptionsHolder<HeadOptions> o;
  CHECK(read(o, "num_labels = 'three'\ndropout = true\nlabels = 'a'\nlayers = [1.5]\nbias = 1\n") ==
        "  h.toml:1:14  head.num_labels: expected integer, got string \"three\"\n"
        "  h.toml:3:10  head.labels: expected array of strings, got string \"a\"\n"
        "  h.toml:2:11  head.dropout: expected number, got boolean\n"
        "  h.toml:5:8  head.bias: expected boolean, got integer\n"
        "  h.toml:4:11  head.layers[0]: expected integer, got float\n");
  CHECK(o.value.num_labels == 0);  // untouched on error
}

TEST_CASE("missing required keys, validators and unknown keys are all reported") {
  OptionsHolder<HeadOptions> o;
  CHECK(read(o, "dropout = 2\npooling = 'maxx'\nweights = [-1]\ndropuot = 0.3\nzzz = 1\n") ==
        "  h.toml  head.num_labels: missing required key (number of labels)\n"
        "  h.toml:1:11  head.dropout: expected a value in [0, 1], got 2\n"
        "  h.toml:2:11  head.pooling: \"maxx\" is not one of: cls, mean\n"
        "  h.toml:3:12  head.weights[0]: expected a value >= 0, got -1\n"
        "  h.toml:4:11  head.dropuot: unknown key 'dropuot'; did you mean 'dropout'? (known keys: bias, dropout, "
        "extra, labels, layers, num_labels, pooling, weights)\n"
        "  h.toml:5:7  head.zzz: unknown key 'zzz' (known keys: bias, dropout, extra, labels, layers, num_labels, "
        "pooling, weights)\n");
}

TEST_CASE("check() runs after a clean read; extra keys and allow_unknown") {
  OptionsHolder<HeadOptions> o;
  CHECK(read(o, "num_labels = 3\nlabels = ['a']\n") == "  h.toml:1:1  head.labels: has 1 names but num_labels is 3\n");
  OptionsHolder<HeadOptions> o2;
  CHECK(read(o2, "type = 'x'\nnum_labels = 2\n", core::ReadMode{{"type"}, false}) == "");
  OptionsHolder<HeadOptions> o3;
  CHECK(read(o3, "num_labels = 2\nhidden_act = 'gelu'\n", core::ReadMode{{}, true}) == "");
}

TEST_CASE("a non-table value for the options is reported") {
  OptionsHolder<HeadOptions> o;
  Diagnostics d;
  core::read_options(o, Value(3), d);
  CHECK(d.format() == "  expected a table, got integer\n");
}

TEST_CASE("writer fills every default, describe lists the schema") {
  OptionsHolder<HeadOptions> o;
  CHECK(core::write_options(o).dump_json() ==
        R"({"num_labels":0,"labels":[],"dropout":0.1,"pooling":"cls","bias":true,"layers":[-1],"weights":[]})");
  auto schema = core::describe_options(o);
  REQUIRE(schema.size() == 8);
  CHECK(schema[0].key == "num_labels");
  CHECK(schema[0].type == "integer");
  CHECK(schema[0].required);
  CHECK(*schema[0].check.min == 2.0);
  CHECK(schema[1].type == "array of strings");
  CHECK(schema[2].default_value.as_double() == 0.1);
  CHECK(schema[3].check.choices == std::vector<std::string>{"cls", "mean"});
  CHECK(schema[3].doc == "how tokens are pooled");
  CHECK(schema[5].type == "array of integers");
  CHECK(schema[6].type == "array of floats");
  CHECK(schema[7].type == "any");
  CHECK(schema[7].default_value.is_null());
}
