// The processors and heads of the multilabel, regression and ranking plugins, created through
// the registry from the real .so files: file layouts, label formats, bad rows (file:line),
// inference dicts, label tensors, thresholds, pos_weight and target standardisation.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>

#include <cmath>

using namespace graft;

namespace {

core::Registry& registry() {
  static core::Registry* reg = [] {
    auto* r = new core::Registry();
    for (const char* p : {"multilabel", "regression", "ranking"})
      r->load_plugin(test::plugin_dir() + "/libgraft_" + p + ".so");
    return r;
  }();
  return *reg;
}

const Tokenizer& tokenizer() {
  static auto tok = core::load_tokenizer(test::fixture("tokenizers/models/bert-base-uncased"));
  return *tok;
}

Value table(std::initializer_list<std::pair<std::string, Value>> items) {
  Value t = Value::object();
  for (const auto& [k, v] : items) t.set(k, v);
  return t;
}

std::shared_ptr<Processor> processor(const std::string& type, const Value& options, const std::string& task = "t") {
  const auto& entry = registry().processor(type).entry;
  auto opts = entry.make_options();
  Diagnostics d;
  core::read_options(*opts, options, d);
  REQUIRE_MESSAGE(d.ok(), d.format());
  auto p = entry.make(*opts, ProcessorContext{""});
  p->set_task(task);
  return p;
}

std::shared_ptr<PredictionHead> head(const std::string& type, const Value& options, std::vector<std::string> labels) {
  const auto& entry = registry().head(type).entry;
  auto opts = entry.make_options();
  Diagnostics d;
  core::read_options(*opts, options, d);
  REQUIRE_MESSAGE(d.ok(), d.format());
  HeadContext ctx;
  ctx.task = "t";
  ctx.hidden_size = 8;
  ctx.model_type = "bert";
  ctx.labels = std::move(labels);
  return entry.make(*opts, ctx);
}

std::string write(const std::string& name, const std::string& text) {
  std::string path = test::temp_dir("procs") + "/" + name;
  core::write_file_atomic(path, text);
  return path;
}

}  // namespace

TEST_CASE("tsv_multilabel: CSV with names and a custom separator; label sets become multi-hot tensors") {
  auto p = processor("tsv_multilabel", table({{"label_column", "tags"}, {"label_separator", "|"}}));
  std::string f = write("ml.csv", "text,tags\n\"great, fun\",joy|surprise\nmeh,\nso sad,sadness|joy|joy\n");
  std::vector<RecordProblem> problems;
  auto baskets = p->read(f, problems);
  CHECK(problems.empty());
  REQUIRE(baskets.size() == 3);
  CHECK(baskets[0].raw.at("text").as_string() == "great, fun");
  CHECK(baskets[1].raw.at("labels").size() == 0);  // empty field = no label
  CHECK(baskets[2].raw.at("labels").size() == 2);  // duplicates count once
  p->prepare(baskets);
  CHECK(p->labels() == std::vector<std::string>{"joy", "sadness", "surprise"});
  p->featurize(baskets[0], tokenizer());
  REQUIRE(baskets[0].problem.empty());
  torch::Tensor hot = baskets[0].samples.at(0).features.at("t/label_ids");
  CHECK(torch::equal(hot, torch::tensor({1.0f, 0.0f, 1.0f})));
  std::vector<const Sample*> rows = {&baskets[0].samples[0]};
  p->featurize(baskets[2], tokenizer());
  rows.push_back(&baskets[2].samples[0]);
  Batch b = p->collate(rows, tokenizer());
  CHECK(b.at("t/label_ids").sizes() == torch::IntArrayRef({2, 3}));

  // inference dicts: labels optional, lists or separated strings; errors name the input
  std::vector<Value> dicts = {table({{"text", "hello"}}), table({{"text", "x"}, {"labels", "joy|nope"}}),
                              table({{"txt", "no text"}})};
  problems.clear();
  auto from = p->from_dicts(dicts, problems);
  CHECK(from.size() == 1);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].loc.str() == "input[1]");
  CHECK(problems[0].message.find("unknown label 'nope'") != std::string::npos);
  CHECK(problems[1].message.find("missing \"text\"") != std::string::npos);
}

TEST_CASE("tsv_multilabel: bad rows are reported with file:line") {
  auto p = processor("tsv_multilabel",
                     table({{"labels", Value(std::vector<std::string>{"a", "b"})}, {"label_column", "label"}}));
  std::string f = write("bad.tsv", "text\tlabel\nok\ta,b\nunknown\tc\nempty item\ta,,b\n\tb\ntoo\tmany\tfields\n");
  std::vector<RecordProblem> problems;
  auto baskets = p->read(f, problems);
  CHECK(baskets.size() == 1);
  REQUIRE(problems.size() == 4);
  CHECK(problems[0].loc.line == 3);
  CHECK(problems[0].message.find("unknown label 'c'") != std::string::npos);
  CHECK(problems[1].loc.line == 4);
  CHECK(problems[1].message.find("empty label") != std::string::npos);
  CHECK(problems[2].loc.line == 5);
  CHECK(problems[2].message.find("empty text") != std::string::npos);
  CHECK(problems[3].loc.line == 6);
  CHECK(problems[3].message.find("too many fields") != std::string::npos);
  // options are checked up front
  const auto& entry = registry().processor("tsv_multilabel").entry;
  auto opts = entry.make_options();
  Diagnostics d;
  core::read_options(*opts, table({{"label_format", "ids"}}), d);
  CHECK_THROWS_WITH_AS(entry.make(*opts, ProcessorContext{""}), doctest::Contains("needs the label names"), ConfigError);
}

TEST_CASE("multilabel_classification head: thresholds, pos_weight, loss = mean BCE") {
  auto h = head("multilabel_classification",
                table({{"thresholds", Value(std::vector<double>{0.5, 0.9})}, {"pos_weight", Value(std::vector<double>{2.0})}}),
                {"a", "b"});
  Basket basket;
  basket.id = "0";
  Value out = h->format(basket, {torch::tensor({0.5f, 1.0f})});  // sigmoid: 0.622, 0.731
  REQUIRE(out.at("labels").size() == 1);
  CHECK(out.at("labels").as_array()[0].as_string() == "a");
  CHECK(out.at("probabilities").at("b").as_double() == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))));
  Batch b;
  b.tensors["t/label_ids"] = torch::tensor({{1.0f, 0.0f}});
  torch::Tensor logits = torch::tensor({{0.5f, 1.0f}});
  double want = (2.0 * std::log1p(std::exp(-0.5)) + std::log1p(std::exp(1.0))) / 2.0;
  CHECK(h->loss(logits, b).item<double>() == doctest::Approx(want).epsilon(1e-6));
  CHECK_THROWS_AS(head("multilabel_classification", table({{"thresholds", Value(std::vector<double>{0.5})}}), {"a", "b"}),
                  ConfigError);
}

TEST_CASE("tsv_regression and the regression head: several targets, bad numbers, standardisation undone") {
  auto p = processor("tsv_regression", table({{"label_columns", Value(std::vector<std::string>{"x", "y"})}}));
  CHECK(p->labels() == std::vector<std::string>{"x", "y"});
  std::string f = write("reg.tsv", "text\tx\ty\nfirst\t1.5\t-2\nsecond\tabc\t1\nthird\t\t1\n");
  std::vector<RecordProblem> problems;
  auto baskets = p->read(f, problems);
  REQUIRE(baskets.size() == 1);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].loc.str() == f + ":3");
  CHECK(problems[0].message == "target 'abc' in column 'x' is not a number");
  CHECK(problems[1].message.find("empty target in column 'x'") != std::string::npos);
  p->featurize(baskets[0], tokenizer());
  CHECK(torch::equal(baskets[0].samples[0].features.at("t/label_ids"), torch::tensor({1.5f, -2.0f})));

  auto h = head("regression",
                table({{"standardize", true}, {"label_mean", Value(std::vector<double>{2.0, 0.0})},
                       {"label_std", Value(std::vector<double>{0.5, 0.0})}}),
                {"x", "y"});
  Basket basket;
  basket.id = "0";
  Value out = h->format(basket, {torch::tensor({1.0f, 3.0f})});
  CHECK(out.at("values").at("x").as_double() == doctest::Approx(2.5));  // 1 * 0.5 + 2
  CHECK(out.at("values").at("y").as_double() == doctest::Approx(3.0));  // std 0 → 1
  Batch b;
  b.tensors["t/label_ids"] = torch::tensor({{2.5f, 3.0f}});
  CHECK(h->loss(torch::tensor({{1.0f, 3.0f}}), b).item<double>() == doctest::Approx(0.0));
  CHECK_THROWS_WITH_AS(head("regression", table({{"standardize", true}}), {"x"}), doctest::Contains("label_mean"),
                       ConfigError);
}

TEST_CASE("tsv_ranking: grouping by query text or id; relevance must be a number >= 0") {
  auto p = processor("tsv_ranking", table({}));
  std::string f = write("rank.tsv", "query\tpassage\tlabel\nq one\tp1\t1\nq one\tp2\t0\nq two\tp3\tmaybe\n");
  std::vector<RecordProblem> problems;
  auto baskets = p->read(f, problems);
  REQUIRE(baskets.size() == 2);
  CHECK(baskets[0].raw.at("query_id").as_string() == "q one");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].loc.line == 4);
  CHECK(p->label_of(baskets[0]) == "1");
  p->featurize(baskets[0], tokenizer());
  const Encoding& e = baskets[0].samples[0].encoding;
  CHECK(e.tokens.front() == "[CLS]");
  CHECK(std::count(e.tokens.begin(), e.tokens.end(), "[SEP]") == 2);  // query [SEP] passage [SEP]
  auto h = head("passage_ranking", table({{"max_relevance", 2.0}}), {});
  Batch b;
  b.tensors["t/label_ids"] = torch::tensor({2.0f, 1.0f});
  torch::Tensor l = h->loss(torch::zeros({2, 1}), b);
  CHECK(l[0].item<double>() == doctest::Approx(std::log(2.0)));  // target 1 at logit 0
  Value gold = h->gold_for_metric(baskets[0]);
  CHECK(gold.at("query").as_string() == "q one");
  CHECK(gold.at("relevance").as_double() == 1.0);
}
