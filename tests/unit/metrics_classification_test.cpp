// Classification metrics of the text_classification plugin against the golden values of
// classification.json (scikit-learn 1.2.1 / FARM 0.8): the repository subset always, the full
// ../shared set when present. Metrics are created through the registry from the real plugin .so.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/json.h>
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/metric.h>

#include <cmath>
#include <memory>
#include <sstream>
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

std::shared_ptr<graft::Metric> make_metric(const std::string& name, const Value& options = Value::object()) {
  const auto& entry = registry().metric(name).entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, options, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  return entry.make(*opts, graft::MetricContext{});
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

void check_number(const Value& result, const std::string& key, double want, const std::string& what) {
  const Value* v = result.find(key);
  REQUIRE_MESSAGE(v != nullptr, what, ": no key '", key, "' in ", result.dump_json());
  INFO(what, " ", key, ": got ", v->as_double(), ", want ", want);
  CHECK(close(v->as_double(), want));
}

std::vector<std::string> strings(const Value& array) {
  std::vector<std::string> out;
  for (const auto& v : array.as_array()) out.push_back(v.as_string());
  return out;
}

graft::MetricInput input_of(const Value& label_list, const Value& inputs, bool ids = false) {
  graft::MetricInput in;
  in.labels = strings(label_list);
  in.gold = inputs.at(ids ? "y_true_ids" : "y_true").as_array();
  in.pred = inputs.at(ids ? "y_pred_ids" : "y_pred").as_array();
  return in;
}

/// The confusion matrix rows printed after "confusion matrix" in a report.
std::vector<std::vector<int64_t>> parse_confusion(const std::string& report, size_t k) {
  auto at = report.find("confusion matrix");
  REQUIRE(at != std::string::npos);
  std::istringstream is(report.substr(at));
  std::string line;
  std::getline(is, line);  // title
  std::getline(is, line);  // column labels
  std::vector<std::vector<int64_t>> rows;
  for (size_t r = 0; r < k && std::getline(is, line); ++r) {
    std::istringstream ls(line);
    std::vector<std::string> tokens;
    for (std::string t; ls >> t;) tokens.push_back(t);
    REQUIRE(tokens.size() > k);
    std::vector<int64_t> row;
    for (size_t c = tokens.size() - k; c < tokens.size(); ++c) row.push_back(std::stoll(tokens[c]));
    rows.push_back(row);
  }
  return rows;
}

/// Every registered metric against one case of classification.json.
void check_case(const std::string& what, const Value& label_list, const Value& inputs, const Value& expected,
                const Value* expected_farm) {
  for (bool ids : {false, true}) {
    if (ids && !inputs.contains("y_true_ids")) continue;
    std::string w = what + (ids ? " (label ids)" : " (label strings)");
    auto in = input_of(label_list, inputs, ids);
    check_number(make_metric("acc")->compute(in), "acc", expected.at("accuracy").as_double(), w);
    check_number(make_metric("f1_macro")->compute(in), "f1_macro", expected.at("f1_macro").as_double(), w);
    check_number(make_metric("f1_micro")->compute(in), "f1_micro", expected.at("f1_micro").as_double(), w);
    check_number(make_metric("f1_weighted")->compute(in), "f1_weighted", expected.at("f1_weighted").as_double(), w);
    check_number(make_metric("mcc")->compute(in), "mcc", expected.at("matthews_corrcoef").as_double(), w);
    check_number(make_metric("precision_macro")->compute(in), "precision_macro",
                 expected.at("precision_macro").as_double(), w);
    check_number(make_metric("recall_macro")->compute(in), "recall_macro", expected.at("recall_macro").as_double(), w);

    if (expected_farm) {
      for (const auto& [metric, values] : expected_farm->as_object()) {
        Value got = make_metric(metric)->compute(in);
        for (const auto& [key, value] : values.as_object()) check_number(got, key, value.as_double(), w + " farm " + metric);
      }
    }
    if (const Value* binary = expected.find("binary")) {
      Value got = make_metric("acc_f1")->compute(in);
      check_number(got, "f1", binary->at("f1").as_double(), w + " binary");
      Value pos = Value::object();
      pos.set("pos_label", binary->at("pos_label").as_string());
      check_number(make_metric("acc_f1", pos)->compute(in), "f1", binary->at("f1").as_double(), w + " pos_label");
    }

    // Every metric's report: sklearn's classification_report text, then the confusion matrix.
    const std::string want_text = expected.at("classification_report_text_digits4").as_string();
    const auto& cm = expected.at("confusion_matrix").at("matrix").as_array();
    for (const char* metric : {"acc", "f1_macro", "f1_micro", "f1_weighted", "mcc", "precision_macro", "recall_macro"}) {
      std::string report = make_metric(metric)->report(in);
      INFO(w, " report of ", metric, ":\n", report, "\nexpected:\n", want_text);
      REQUIRE(report.compare(0, want_text.size(), want_text) == 0);
      auto rows = parse_confusion(report, cm.size());
      REQUIRE(rows.size() == cm.size());
      for (size_t r = 0; r < cm.size(); ++r)
        for (size_t c = 0; c < cm.size(); ++c) CHECK(rows[r][c] == cm[r].as_array()[c].as_int());
    }
  }
}

void check_fixture_file(const std::string& path) {
  Value doc = graft::core::read_json_file(path);
  size_t cases = 0;
  for (const auto& [name, c] : doc.at("cases").as_object()) {
    check_case(path + " cases." + name, c.at("label_list"), c.at("inputs"), c.at("expected"), c.find("expected_farm"));
    ++cases;
  }
  const Value& edge = doc.at("edge_cases");
  check_case(path + " edge_cases", edge.at("label_list"), edge.at("inputs"), edge.at("expected"), nullptr);
  CHECK(cases >= 1);
}

}  // namespace

TEST_CASE("classification metrics match the repository fixture subset") {
  check_fixture_file(graft::test::fixture("metrics/classification.json"));
}

TEST_CASE("classification metrics match the full shared fixture") {
  if (!graft::test::have_shared()) {
    MESSAGE("../shared not present; only the repository subset was checked");
    return;
  }
  check_fixture_file(graft::test::shared("fixtures/metrics/classification.json"));
}

TEST_CASE("the edge case reports 'micro avg' because label 'd' never occurs") {
  Value doc = graft::core::read_json_file(graft::test::fixture("metrics/classification.json"));
  const Value& edge = doc.at("edge_cases");
  std::string report = make_metric("f1_macro")->report(input_of(edge.at("label_list"), edge.at("inputs")));
  CHECK(report.find("   micro avg     0.5714    0.5714    0.5714         7\n") != std::string::npos);
  CHECK(report.find("accuracy") == std::string::npos);
}

TEST_CASE("without a label list the labels are the sorted union of gold and predictions") {
  Value doc = graft::core::read_json_file(graft::test::fixture("metrics/classification.json"));
  const Value& c = doc.at("cases").at("binary");
  auto in = input_of(c.at("label_list"), c.at("inputs"));
  in.labels.clear();
  check_number(make_metric("f1_macro")->compute(in), "f1_macro", c.at("expected").at("f1_macro").as_double(), "no labels");
  Value got = make_metric("acc_f1")->compute(in);
  check_number(got, "f1", c.at("expected").at("binary").at("f1").as_double(), "no labels");
  check_number(got, "acc_and_f1", c.at("expected_farm").at("acc_f1").at("acc_and_f1").as_double(), "no labels");
}

TEST_CASE("metrics reject bad input with a message") {
  graft::MetricInput in;
  in.labels = {"neg", "pos"};
  in.gold = {Value("neg"), Value("pos")};
  in.pred = {Value("neg")};
  CHECK_THROWS_WITH_AS(make_metric("acc")->compute(in), doctest::Contains("2 gold values but 1 predictions"),
                       graft::DataError);

  in.pred = {Value("neg"), Value("maybe")};
  CHECK_THROWS_WITH_AS(make_metric("f1_macro")->compute(in),
                       doctest::Contains("predicted value 1 (0-based) 'maybe' is not a label of the label list (neg, pos)"),
                       graft::DataError);

  in.pred = {Value("neg"), Value(7)};
  CHECK_THROWS_WITH_AS(make_metric("mcc")->compute(in), doctest::Contains("nor an index into it"), graft::DataError);

  in.pred = {Value("neg"), Value(1.5)};
  CHECK_THROWS_AS(make_metric("acc")->compute(in), graft::DataError);

  graft::MetricInput empty;
  CHECK_THROWS_WITH_AS(make_metric("acc")->compute(empty), doctest::Contains("no samples"), graft::DataError);

  graft::MetricInput mixed;
  mixed.gold = {Value("a"), Value(1)};
  mixed.pred = {Value("a"), Value("a")};
  CHECK_THROWS_WITH_AS(make_metric("acc")->compute(mixed), doctest::Contains("mix label strings and integers"),
                       graft::DataError);

  graft::MetricInput three;
  three.labels = {"a", "b", "c"};
  three.gold = {Value("a"), Value("b"), Value("c")};
  three.pred = {Value("a"), Value("c"), Value("c")};
  CHECK_THROWS_WITH_AS(make_metric("acc_f1")->compute(three), doctest::Contains("needs exactly 2 labels, got 3"),
                       graft::DataError);
  Value pos = Value::object();
  pos.set("pos_label", "c");
  Value got = make_metric("acc_f1", pos)->compute(three);
  check_number(got, "f1", 2.0 / 3.0, "pos_label c");  // precision 1/2, recall 1/1
  pos.set("pos_label", "z");
  CHECK_THROWS_WITH_AS(make_metric("acc_f1", pos)->compute(three), doctest::Contains("pos_label 'z' is not one of"),
                       graft::ConfigError);

  graft::MetricInput dup;
  dup.labels = {"a", "a"};
  dup.gold = {Value("a")};
  dup.pred = {Value("a")};
  CHECK_THROWS_WITH_AS(make_metric("acc")->compute(dup), doctest::Contains("appears twice"), graft::DataError);
}

TEST_CASE("undefined mcc is 0 and a class that never occurs counts 0 in macro averages") {
  graft::MetricInput one_class;
  one_class.labels = {"a", "b"};
  one_class.gold = {Value("a"), Value("a")};
  one_class.pred = {Value("a"), Value("a")};
  check_number(make_metric("mcc")->compute(one_class), "mcc", 0.0, "constant");
  check_number(make_metric("acc")->compute(one_class), "acc", 1.0, "constant");
  // 'b' never occurs: it counts 0 in the macro average.
  check_number(make_metric("f1_macro")->compute(one_class), "f1_macro", 0.5, "constant");
}
