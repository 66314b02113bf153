// text_classification head of the plugin, created through the registry from the real .so.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/prediction_head.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

using graft::Value;

namespace {

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_text_classification.so");
    return r;
  }();
  return *reg;
}

Value table(std::initializer_list<std::pair<std::string, Value>> items) {
  Value t = Value::object();
  for (const auto& [k, v] : items) t.set(k, v);
  return t;
}

graft::HeadContext context(std::vector<std::string> labels, Value hf_config = Value::object()) {
  graft::HeadContext ctx;
  ctx.task = "sentiment";
  ctx.hidden_size = 8;
  ctx.model_type = "bert";
  ctx.labels = std::move(labels);
  ctx.hf_config = std::move(hf_config);
  return ctx;
}

std::shared_ptr<graft::PredictionHead> make_head(const Value& options, const graft::HeadContext& ctx) {
  const auto& entry = registry().head("text_classification").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, options, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  return entry.make(*opts, ctx);
}

double dropout_of(graft::PredictionHead& head) {
  for (const auto& m : head.named_modules())
    if (auto* d = m.value()->as<torch::nn::Dropout>()) return d->options.p();
  FAIL("no dropout module");
  return -1;
}

graft::Batch labelled_batch(const std::vector<int64_t>& labels) {
  graft::Batch b;
  b.tensors["sentiment/label_ids"] = torch::tensor(labels, torch::kInt64);
  return b;
}

}  // namespace

TEST_CASE("registered for HF *ForSequenceClassification checkpoints") {
  const auto* h = registry().head_for_hf_suffix("ForSequenceClassification");
  REQUIRE(h != nullptr);
  CHECK(h->entry.name == "text_classification");
}

TEST_CASE("parameters are named and shaped as in HF BertForSequenceClassification") {
  auto head = make_head(Value::object(), context({"neg", "neu", "pos"}));
  auto params = head->named_parameters();
  REQUIRE(params.size() == 2);
  CHECK(params.contains("classifier.weight"));
  CHECK(params.contains("classifier.bias"));
  CHECK(params["classifier.weight"].sizes() == torch::IntArrayRef({3, 8}));
  CHECK(params["classifier.bias"].sizes() == torch::IntArrayRef({3}));
  CHECK(head->labels() == std::vector<std::string>{"neg", "neu", "pos"});

  head->init_weights(0.02);
  CHECK(torch::all(params["classifier.bias"] == 0).item<bool>());
  double std = params["classifier.weight"].std().item<double>();
  CHECK(std > 0.005);
  CHECK(std < 0.05);
}

TEST_CASE("dropout: explicit, else classifier_dropout, else hidden_dropout_prob, else 0.1") {
  CHECK(dropout_of(*make_head(table({{"dropout", 0.3}}), context({"a", "b"}))) == doctest::Approx(0.3));
  CHECK(dropout_of(*make_head(Value::object(), context({"a", "b"}, table({{"hidden_dropout_prob", 0.2}})))) ==
        doctest::Approx(0.2));
  CHECK(dropout_of(*make_head(Value::object(), context({"a", "b"}, table({{"hidden_dropout_prob", 0.2},
                                                                          {"classifier_dropout", 0.4}})))) ==
        doctest::Approx(0.4));
  CHECK(dropout_of(*make_head(Value::object(), context({"a", "b"}, table({{"hidden_dropout_prob", 0.2},
                                                                          {"classifier_dropout", nullptr}})))) ==
        doctest::Approx(0.2));
  CHECK(dropout_of(*make_head(Value::object(), context({"a", "b"}))) == doctest::Approx(0.1));
}

TEST_CASE("forward uses the pooled output, or the first token when the family has no pooler") {
  auto head = make_head(Value::object(), context({"neg", "pos"}));
  head->eval();
  graft::LMOutput lm;
  lm.sequence = torch::randn({4, 5, 8});
  lm.pooled = torch::randn({4, 8});
  graft::Batch batch;
  auto params = head->named_parameters();
  auto logits = head->forward(lm, batch);
  CHECK(logits.sizes() == torch::IntArrayRef({4, 2}));
  CHECK(torch::allclose(logits, torch::nn::functional::linear(lm.pooled, params["classifier.weight"],
                                                              params["classifier.bias"])));
  lm.pooled = torch::Tensor();
  auto logits_cls = head->forward(lm, batch);
  CHECK(torch::allclose(logits_cls, torch::nn::functional::linear(lm.sequence.select(1, 0), params["classifier.weight"],
                                                                  params["classifier.bias"])));
}

TEST_CASE("loss is per-row cross entropy, optionally class-weighted") {
  namespace F = torch::nn::functional;
  torch::manual_seed(3);
  auto logits = torch::randn({5, 3});
  std::vector<int64_t> gold{0, 2, 1, 2, 2};
  auto target = torch::tensor(gold, torch::kInt64);
  auto batch = labelled_batch(gold);

  auto plain = make_head(Value::object(), context({"a", "b", "c"}));
  auto loss = plain->loss(logits, batch);
  CHECK(loss.sizes() == torch::IntArrayRef({5}));
  CHECK(torch::allclose(loss, F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone))));

  Value weights = Value::array();
  for (double w : {1.0, 2.0, 0.5}) weights.push_back(w);
  auto weighted = make_head(table({{"class_weights", weights}}), context({"a", "b", "c"}));
  auto w = torch::tensor({1.0, 2.0, 0.5}, torch::kFloat32);
  CHECK(torch::allclose(weighted->loss(logits, batch),
                        F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone).weight(w))));

  // balanced = n_samples / (n_classes * count): counts 10, 30, 60 → 100/30, 100/90, 100/180.
  auto balanced = make_head(table({{"class_weights", "balanced"}, {"class_counts", std::vector<int64_t>{10, 30, 60}}}),
                            context({"a", "b", "c"}));
  auto bw = torch::tensor({100.0 / 30.0, 100.0 / 90.0, 100.0 / 180.0}, torch::kFloat32);
  CHECK(torch::allclose(balanced->loss(logits, batch),
                        F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone).weight(bw))));

  graft::Batch no_labels;
  CHECK_THROWS_WITH_AS(plain->loss(logits, no_labels), doctest::Contains("sentiment/label_ids"), graft::Error);
}

TEST_CASE("class weight problems are configuration errors") {
  CHECK_THROWS_WITH_AS(make_head(table({{"class_weights", "balanced"}}), context({"a", "b"})),
                       doctest::Contains("needs the training count of each of the 2 labels"), graft::ConfigError);
  CHECK_THROWS_WITH_AS(
      make_head(table({{"class_weights", "balanced"}, {"class_counts", std::vector<int64_t>{4, 0}}}), context({"a", "b"})),
      doctest::Contains("label 'b' has none"), graft::ConfigError);
  Value three = Value::array();
  for (double w : {1.0, 2.0, 3.0}) three.push_back(w);
  CHECK_THROWS_WITH_AS(make_head(table({{"class_weights", three}}), context({"a", "b"})),
                       doctest::Contains("class_weights has 3 numbers but there are 2 labels"), graft::ConfigError);

  const auto& entry = registry().head("text_classification").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  Value bad_list = Value::array();
  bad_list.push_back(1.0);
  bad_list.push_back("x");
  graft::core::read_options(*opts, table({{"class_weights", "balance"}, {"dropout", 1.5}}), diag);
  CHECK(diag.format().find("class_weights: expected \"balanced\" or a list of numbers, got \"balance\"") !=
        std::string::npos);
  CHECK(diag.format().find("dropout: must be in [0, 1) or -1") != std::string::npos);
  graft::Diagnostics diag2;
  auto opts2 = entry.make_options();
  graft::core::read_options(*opts2, table({{"class_weights", bad_list}}), diag2);
  CHECK(diag2.format().find("class_weights[1]: expected a number, got string") != std::string::npos);
}

TEST_CASE("labels: task labels, recipe labels, or config.json id2label") {
  Value id2label = table({{"1", "positive"}, {"0", "negative"}});
  auto from_hf = make_head(Value::object(), context({}, table({{"id2label", id2label}})));
  CHECK(from_hf->labels() == std::vector<std::string>{"negative", "positive"});

  auto from_recipe = make_head(table({{"labels", std::vector<std::string>{"x", "y", "z"}}}), context({}));
  CHECK(from_recipe->labels() == std::vector<std::string>{"x", "y", "z"});

  CHECK_THROWS_WITH_AS(make_head(table({{"labels", std::vector<std::string>{"x", "y"}}}), context({"a", "b"})),
                       doctest::Contains("labels [x, y] differ from the task's labels [a, b]"), graft::ConfigError);
  CHECK_THROWS_WITH_AS(make_head(Value::object(), context({})), doctest::Contains("no labels"), graft::ConfigError);
  CHECK_THROWS_WITH_AS(make_head(Value::object(), context({}, table({{"id2label", table({{"0", "a"}, {"2", "c"}})}}))),
                       doctest::Contains("id 1 is missing"), graft::FormatError);
  CHECK_THROWS_WITH_AS(make_head(Value::object(), context({}, table({{"id2label", table({{"zero", "a"}})}}))),
                       doctest::Contains("id2label key 'zero' is not a non-negative integer"), graft::FormatError);
}

TEST_CASE("format: softmax of the mean logits per input, label and probabilities") {
  auto head = make_head(Value::object(), context({"neg", "neu", "pos"}));
  graft::Basket basket;
  basket.id = "0";
  basket.raw = table({{"text", "good"}, {"label", "pos"}});
  auto a = torch::tensor({1.0, 0.0, 3.0}, torch::kFloat32);
  auto b = torch::tensor({1.0, 2.0, 1.0}, torch::kFloat32);
  Value out = head->format(basket, {a, b});
  auto probs = torch::softmax(torch::tensor({1.0, 1.0, 2.0}, torch::kFloat64), 0);
  CHECK(out.at("label").as_string() == "pos");
  CHECK(out.at("probability").as_double() == doctest::Approx(probs[2].item<double>()).epsilon(1e-12));
  const Value& all = out.at("probabilities");
  REQUIRE(all.size() == 3);
  CHECK(all.as_object()[0].first == "neg");
  CHECK(all.at("neg").as_double() == doctest::Approx(probs[0].item<double>()).epsilon(1e-12));
  CHECK(all.at("neu").as_double() + all.at("neg").as_double() + all.at("pos").as_double() ==
        doctest::Approx(1.0).epsilon(1e-12));
  CHECK(head->prediction_for_metric(out).as_string() == "pos");
  CHECK(head->gold_for_metric(basket).as_string() == "pos");

  graft::Basket unlabelled;
  unlabelled.id = "1";
  unlabelled.loc = graft::SourceLocation{"in.tsv", 7, 0};
  unlabelled.raw = table({{"text", "good"}});
  CHECK_THROWS_WITH_AS(head->gold_for_metric(unlabelled), doctest::Contains("in.tsv:7: the record has no gold label"),
                       graft::DataError);
  CHECK_THROWS_AS(head->format(basket, {torch::zeros({2})}), graft::Error);
}

TEST_CASE("hf_export gives the HF architecture suffix and label maps") {
  auto head = make_head(Value::object(), context({"neg", "pos"}));
  auto e = head->hf_export();
  CHECK(e.architecture_suffix == "ForSequenceClassification");
  CHECK(e.config.at("id2label").dump_json() == R"({"0":"neg","1":"pos"})");
  CHECK(e.config.at("label2id").dump_json() == R"({"neg":0,"pos":1})");
  CHECK(e.config.at("problem_type").as_string() == "single_label_classification");
}
