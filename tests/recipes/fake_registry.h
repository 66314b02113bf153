#pragma once
// A registry with stand-in components whose options mirror the real ones, so recipe messages
// (which list known names) stay stable whatever plugins exist. Factories are never called.
#include <graft/core/registry.h>

namespace graft::test {

struct FakeTsvOptions {
  std::string train, dev, test;
  std::string text_column = "text";
  std::string label_column = "label";
  double dev_split = 0.0;
  int64_t max_seq_len = 128;
  void visit(OptionVisitor& v) {
    v.required("train", train, "training file");
    v.optional("dev", dev, "dev file");
    v.optional("test", test, "test file");
    v.optional("text_column", text_column, "text column");
    v.optional("label_column", label_column, "label column");
    v.optional("dev_split", dev_split, "fraction of train held out", in_range(0.0, 0.5));
    v.optional("max_seq_len", max_seq_len, "max tokens", at_least(8));
  }
};
struct FakeHeadOptions {
  std::vector<std::string> labels;
  double dropout = 0.1;
  std::string pooling = "cls";
  void visit(OptionVisitor& v) {
    v.optional("labels", labels, "label names");
    v.optional("dropout", dropout, "dropout", in_range(0.0, 1.0));
    v.optional("pooling", pooling, "pooling", one_of({"cls", "mean"}));
  }
};
struct FakeTokenizerOptions {
  std::string vocab;
  bool lowercase = true;
  void visit(OptionVisitor& v) {
    v.optional("vocab", vocab, "vocab.txt");
    v.optional("lowercase", lowercase, "lowercase");
  }
};

template <class E, class O>
E fake_entry(std::string name, std::vector<std::string> aliases = {}, std::vector<std::string> hf = {}) {
  E e;
  e.name = std::move(name);
  e.summary = "stand-in " + e.name;
  e.aliases = std::move(aliases);
  e.hf_names = std::move(hf);
  e.make_options = [] { return std::make_unique<OptionsHolder<O>>(); };
  e.make = [](const OptionsBase&, const auto&) { return nullptr; };
  return e;
}

inline void register_fake_components(Registrar& r) {
  r.add(fake_entry<LanguageModelEntry, NoOptions>("bert", {}, {"bert"}));
  r.add(fake_entry<ProcessorEntry, FakeTsvOptions>("tsv_classification"));
  r.add(fake_entry<HeadEntry, FakeHeadOptions>("text_classification", {}, {"ForSequenceClassification"}));
  r.add(fake_entry<HeadEntry, FakeHeadOptions>("token_classification"));
  r.add(fake_entry<MetricEntry, NoOptions>("acc", {"accuracy"}));
  r.add(fake_entry<MetricEntry, NoOptions>("f1_macro"));
  r.add(fake_entry<TokenizerEntry, FakeTokenizerOptions>("wordpiece"));
}

}  // namespace graft::test
