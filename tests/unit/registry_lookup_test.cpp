// Registry tables: built-in registration, aliases, suggestions, HF name lookups, staging.
#include <doctest/doctest.h>

#include <graft/core/registry.h>
#include <graft/error.h>

using namespace graft;
using graft::core::Registry;

namespace {

struct DropOptions {
  double dropout = 0.1;
  void visit(OptionVisitor& v) { v.optional("dropout", dropout, "dropout", in_range(0.0, 1.0)); }
};

template <class E>
E entry(std::string name, std::vector<std::string> aliases = {}, std::vector<std::string> hf = {}) {
  E e;
  e.name = std::move(name);
  e.summary = "test " + e.name;
  e.aliases = std::move(aliases);
  e.hf_names = std::move(hf);
  e.make_options = [] { return std::make_unique<OptionsHolder<DropOptions>>(); };
  e.make = [](const OptionsBase&, const auto&) { return nullptr; };
  return e;
}

void register_fakes(Registrar& r) {
  r.add(entry<HeadEntry>("text_classification", {"text_classifier"}, {"ForSequenceClassification"}));
  r.add(entry<HeadEntry>("token_classification", {}, {"ForTokenClassification"}));
  r.add(entry<LanguageModelEntry>("bert", {}, {"bert"}));
  r.add(entry<LanguageModelEntry>("roberta", {}, {"roberta", "xlm-roberta"}));
  r.add(entry<MetricEntry>("f1_macro"));
  r.add(entry<MetricEntry>("acc", {"accuracy"}));
}
void register_clash(Registrar& r) { r.add(entry<MetricEntry>("acc")); }
void register_alias_clash(Registrar& r) { r.add(entry<HeadEntry>("classifier", {"text_classifier"})); }
void register_twice(Registrar& r) {
  r.add(entry<MetricEntry>("mse"));
  r.add(entry<MetricEntry>("mse"));
}
void register_throws(Registrar& r) {
  r.add(entry<MetricEntry>("r2"));
  throw DataError("table missing");
}
void register_no_factory(Registrar& r) {
  MetricEntry e;
  e.name = "mcc";
  r.add(e);
}

}  // namespace

TEST_CASE("did_you_mean picks the closest candidate within the distance limit") {
  std::vector<std::string> c{"dropout", "labels", "pooling", "text_classification", "token_classification"};
  CHECK(core::did_you_mean("dropuot", c) == "dropout");  // adjacent swap counts as one edit
  CHECK(core::did_you_mean("label", c) == "labels");
  CHECK(core::did_you_mean("token_clasification", c) == "token_classification");
  CHECK(core::did_you_mean("DROPOUT", c) == "dropout");
  CHECK(core::did_you_mean("zzz", c) == "");
  CHECK(core::did_you_mean("x", {}) == "");
}

TEST_CASE("built-ins register, attribute and resolve aliases") {
  Registry r;
  r.register_builtin("fakes", &register_fakes);
  CHECK(r.head("text_classification").plugin_id == "fakes");
  CHECK(r.head("text_classification").plugin_file == "");
  CHECK(&r.head("text_classifier") == &r.head("text_classification"));
  CHECK(r.find_metric("accuracy") == &r.metric("acc"));
  CHECK(r.names(ComponentKind::head) == std::vector<std::string>{"text_classification", "token_classification"});
  CHECK(r.names(ComponentKind::metric) == std::vector<std::string>{"acc", "f1_macro"});
  CHECK(r.names(ComponentKind::tokenizer).empty());
  CHECK(r.language_model_for_model_type("xlm-roberta").entry.name == "roberta");
  CHECK(r.head_for_hf_suffix("ForTokenClassification")->entry.name == "token_classification");
  CHECK(r.head_for_hf_suffix("ForMaskedLM") == nullptr);
  // registering the same built-in id again is a no-op, not a duplicate
  r.register_builtin("fakes", &register_fakes);
  CHECK(r.names(ComponentKind::metric).size() == 2);
}

TEST_CASE("lookups of unknown names explain what is known") {
  Registry r;
  r.register_builtin("fakes", &register_fakes);
  CHECK_THROWS_WITH_AS(r.head("token_clasification"),
                       "no head named 'token_clasification'; did you mean 'token_classification'?; known heads: "
                       "text_classification, token_classification; plugin search path: (empty)",
                       ConfigError);
  CHECK_THROWS_WITH_AS(r.language_model("gpt2"),
                       "no language model named 'gpt2'; known language models: bert, roberta; plugin search path: "
                       "(empty)",
                       ConfigError);
  CHECK_THROWS_WITH_AS(r.language_model_for_model_type("bart"),
                       "no language model serves config.json model_type 'bart'; did you mean 'bert'?; known model "
                       "types: bert, roberta, xlm-roberta; plugin search path: (empty)",
                       ConfigError);
  CHECK(r.find_processor("tsv") == nullptr);
}

TEST_CASE("clashing or broken registrations are refused and leave nothing behind") {
  Registry r;
  r.register_builtin("fakes", &register_fakes);
  CHECK_THROWS_WITH_AS(r.register_builtin("clash", &register_clash),
                       "built-in components 'clash': metric 'acc' is already provided by graft core", PluginError);
  CHECK_THROWS_WITH_AS(r.register_builtin("alias_clash", &register_alias_clash),
                       "built-in components 'alias_clash': head 'text_classifier' (alias) is already an alias of "
                       "'text_classification' provided by graft core",
                       PluginError);
  CHECK_THROWS_WITH_AS(r.register_builtin("twice", &register_twice),
                       "built-in components 'twice': metric 'mse' is registered twice", PluginError);
  CHECK_THROWS_WITH_AS(r.register_builtin("throws", &register_throws),
                       "built-in components 'throws': registration failed: table missing", PluginError);
  CHECK_THROWS_WITH_AS(r.register_builtin("no_factory", &register_no_factory),
                       "built-in components 'no_factory': metric 'mcc' has no factory", PluginError);
  CHECK(r.find_metric("mse") == nullptr);
  CHECK(r.find_metric("r2") == nullptr);
  CHECK(r.find_head("classifier") == nullptr);
  CHECK(r.metric("acc").plugin_id == "fakes");
}

TEST_CASE("the global registry has the core tokenizers and the built plugins") {
  Registry& g = Registry::global();
  CHECK(&g == &Registry::global());
  CHECK_FALSE(g.search_path().empty());
  // every plugin file found beside the build is either loaded or has a reason
  for (const auto& rec : g.plugins()) {
    INFO(rec.file);
    CHECK((rec.loaded ? rec.reason.empty() && !rec.components.empty() : !rec.reason.empty()));
  }
}
