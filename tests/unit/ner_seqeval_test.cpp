// seq_f1 of the token_classification plugin against seqeval 1.2.2's values in ner.json: the
// repository subset always, the full ../shared set when present. Created through the registry
// from the real plugin .so.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/json.h>
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/metric.h>

#include <cmath>

using graft::Value;

namespace {

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_token_classification.so");
    return r;
  }();
  return *reg;
}

std::shared_ptr<graft::Metric> seq_f1(const std::string& mode) {
  const auto& entry = registry().metric("seq_f1").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  Value o = Value::object();
  o.set("mode", mode);
  graft::core::read_options(*opts, o, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  return entry.make(*opts, graft::MetricContext{});
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

void check(const Value& got, const std::string& key, double want, const std::string& what) {
  const Value* v = got.find(key);
  REQUIRE_MESSAGE(v, what, ": no '", key, "' in ", got.dump_json());
  INFO(what, " ", key, " got ", v->as_double(), " want ", want);
  CHECK(close(v->as_double(), want));
}

graft::MetricInput input_of(const Value& y_true, const Value& y_pred) {
  graft::MetricInput in;
  in.gold = y_true.as_array();
  in.pred = y_pred.as_array();
  return in;
}

void check_mode(const graft::MetricInput& in, const std::string& mode, const Value& exp, const std::string& what) {
  auto m = seq_f1(mode);
  Value got = m->compute(in);
  check(got, "seq_f1", exp.at("f1_micro").as_double(), what);
  check(got, "seq_precision", exp.at("precision_micro").as_double(), what);
  check(got, "seq_recall", exp.at("recall_micro").as_double(), what);
  check(got, "seq_f1_macro", exp.at("f1_macro").as_double(), what);
  check(got, "seq_f1_weighted", exp.at("f1_weighted").as_double(), what);
  const Value& per = got.at("per_type");
  const Value& want_per = exp.at("per_type");
  CHECK(per.size() == want_per.size());
  for (const auto& [type, w] : want_per.as_object()) {
    const Value* g = per.find(type);
    REQUIRE_MESSAGE(g, what, ": type ", type, " missing");
    check(*g, "precision", w.at("precision").as_double(), what + " " + type);
    check(*g, "recall", w.at("recall").as_double(), what + " " + type);
    check(*g, "f1", w.at("f1").as_double(), what + " " + type);
    CHECK(g->at("support").as_int() == w.at("support").as_int());
  }
  if (const Value* text = exp.find("classification_report_text_digits4")) CHECK(m->report(in) == text->as_string());
}

void check_file(const std::string& path) {
  CAPTURE(path);
  Value fx = graft::core::read_json_file(path);
  graft::MetricInput in = input_of(fx.at("inputs").at("y_true"), fx.at("inputs").at("y_pred"));
  const Value& exp = fx.at("expected");
  check_mode(in, "default", exp.at("default"), "default");
  check_mode(in, "strict", exp.at("strict_IOB2"), "strict");
  {
    const auto& entry = registry().metric("seq_f1_strict").entry;
    auto opts = entry.make_options();
    Value strict = entry.make(*opts, graft::MetricContext{})->compute(in);
    check(strict, "seq_strict_f1", exp.at("strict_IOB2").at("f1_micro").as_double(), "seq_f1_strict");
    check(strict, "seq_strict_precision", exp.at("strict_IOB2").at("precision_micro").as_double(), "seq_f1_strict");
    CHECK(strict.contains("seq_strict_per_type"));
  }
  Value got = seq_f1("default")->compute(in);
  check(got, "seq_accuracy", exp.at("accuracy").as_double(), "accuracy");
  check(got, "seq_f1", exp.at("farm_seq_f1").as_double(), "farm seq_f1");
  for (const char* c : {"A", "B"}) {
    const Value& cs = fx.at("iob1_cases").at(c);
    graft::MetricInput ci = input_of(cs.at("y_true"), cs.at("y_pred"));
    check_mode(ci, "default", cs.at("expected").at("default"), std::string("iob1 case ") + c + " default");
    check_mode(ci, "strict", cs.at("expected").at("strict_IOB2"), std::string("iob1 case ") + c + " strict");
  }
}

}  // namespace

TEST_CASE("seq_f1 equals seqeval 1.2.2 on ner.json (default and strict IOB2, per type, report)") {
  check_file(graft::test::fixture("metrics/ner.json"));
  if (graft::test::have_shared()) check_file(graft::test::shared("fixtures/metrics/ner.json"));
}

TEST_CASE("seq_f1 chunking: IOB1, I- without B-, type changes, suffix types, sentence borders") {
  auto m = seq_f1("default");
  auto run = [&](std::vector<std::vector<std::string>> gold, std::vector<std::vector<std::string>> pred) {
    graft::MetricInput in;
    for (auto& s : gold) in.gold.emplace_back(Value(s));
    for (auto& s : pred) in.pred.emplace_back(Value(s));
    return m->compute(in);
  };
  // I-PER after O starts an entity in default mode
  Value r = run({{"B-PER", "I-PER", "O"}}, {{"I-PER", "I-PER", "O"}});
  CHECK(r.at("seq_f1").as_double() == 1.0);
  // a chunk never crosses a sentence border
  r = run({{"O", "B-LOC"}, {"I-LOC", "O"}}, {{"O", "B-LOC"}, {"B-LOC", "O"}});
  CHECK(r.at("seq_f1").as_double() == 1.0);
  // type change splits a chunk; GermEval's LOCderiv is its own type
  r = run({{"B-LOC", "I-LOCderiv"}}, {{"B-LOC", "B-LOCderiv"}});
  CHECK(r.at("seq_f1").as_double() == 1.0);
  CHECK(r.at("per_type").contains("LOCderiv"));
  // nothing predicted: zero, not NaN
  r = run({{"B-PER"}}, {{"O"}});
  CHECK(r.at("seq_f1").as_double() == 0.0);
  CHECK(r.at("seq_precision").as_double() == 0.0);
}

TEST_CASE("seq_f1: mismatched input is a DataError naming the sentence") {
  auto m = seq_f1("default");
  graft::MetricInput in;
  in.gold.emplace_back(Value(std::vector<std::string>{"O", "B-PER"}));
  in.pred.emplace_back(Value(std::vector<std::string>{"O"}));
  CHECK_THROWS_WITH_AS(m->compute(in), doctest::Contains("sentence 0"), graft::DataError);
  graft::MetricInput bad;
  bad.gold.emplace_back(Value(std::vector<std::string>{"E-PER"}));
  bad.pred.emplace_back(Value(std::vector<std::string>{"O"}));
  CHECK_THROWS_AS(seq_f1("strict")->compute(bad), graft::DataError);
}
