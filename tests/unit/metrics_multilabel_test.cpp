// Multilabel metrics of the multilabel plugin against multilabel.json (scikit-learn 1.2.1): the
// repository copy always, the ../shared file too when present; through the registry (the real
// plugin .so) and through `graft score`.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/metric.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

using graft::Value;

namespace {

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_multilabel.so");
    return r;
  }();
  return *reg;
}

std::shared_ptr<graft::Metric> make_metric(const std::string& name) {
  const auto& entry = registry().metric(name).entry;
  auto opts = entry.make_options();
  return entry.make(*opts, graft::MetricContext{});
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

double value_of(const std::string& metric, const graft::MetricInput& in) {
  Value r = make_metric(metric)->compute(in);
  REQUIRE_MESSAGE(r.find(metric) != nullptr, r.dump_json());
  return r.at(metric).as_double();
}

std::vector<std::string> strings(const Value& a) {
  std::vector<std::string> out;
  for (const auto& v : a.as_array()) out.push_back(v.as_string());
  return out;
}

/// multi-hot row → array of label names
Value names_of(const Value& row, const std::vector<std::string>& labels) {
  Value out = Value::array();
  for (size_t k = 0; k < labels.size(); ++k)
    if (row.as_array()[k].as_int() != 0) out.push_back(labels[k]);
  return out;
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> files = {graft::test::fixture("metrics/multilabel.json")};
  if (graft::test::have_shared()) files.push_back(graft::test::shared("fixtures/metrics/multilabel.json"));
  return files;
}

const char* kMeasures[][2] = {
    {"ml_f1_micro", "f1_micro"},         {"ml_f1_macro", "f1_macro"},
    {"ml_f1_weighted", "f1_weighted"},   {"ml_f1_samples", "f1_samples"},
    {"ml_precision_micro", "precision_micro"}, {"ml_precision_macro", "precision_macro"},
    {"ml_precision_samples", "precision_samples"}, {"ml_recall_micro", "recall_micro"},
    {"ml_recall_macro", "recall_macro"}, {"ml_recall_samples", "recall_samples"},
    {"hamming_loss", "hamming_loss"},    {"subset_accuracy", "subset_accuracy"}};

}  // namespace

TEST_CASE("multilabel metrics equal scikit-learn 1.2.1 on the GoEmotions fixture") {
  for (const auto& file : fixture_files()) {
    CAPTURE(file);
    Value fx = graft::core::read_json_file(file);
    auto labels = strings(fx.at("label_list"));
    const Value& in = fx.at("inputs");
    const Value& want = fx.at("expected");
    graft::MetricInput mi;
    mi.labels = labels;
    for (size_t i = 0; i < in.at("y_true").size(); ++i) {
      mi.gold.push_back(names_of(in.at("y_true").as_array()[i], labels));
      Value p = Value::object();
      p.set("labels", names_of(in.at("y_pred").as_array()[i], labels));
      p.set("scores", in.at("y_score").as_array()[i]);
      mi.pred.push_back(p);
    }
    for (const auto& m : kMeasures) {
      INFO(m[0]);
      CHECK(close(value_of(m[0], mi), want.at(m[1]).as_double()));
    }
    CHECK(close(value_of("roc_auc_macro", mi), want.at("roc_auc_macro").as_double()));
    CHECK(close(value_of("roc_auc_micro", mi), want.at("roc_auc_micro").as_double()));
    CHECK(close(value_of("average_precision_macro", mi), want.at("average_precision_macro").as_double()));

    // the same from label strings "a,b" without a label list: labels = sorted union → the same
    // per-label counts (every label occurs), scores as {label: score} objects
    graft::MetricInput strs;
    for (size_t i = 0; i < mi.gold.size(); ++i) {
      std::string g, p;
      for (const auto& x : mi.gold[i].as_array()) g += (g.empty() ? "" : ",") + x.as_string();
      for (const auto& x : mi.pred[i].at("labels").as_array()) p += (p.empty() ? "" : ",") + x.as_string();
      strs.gold.emplace_back(g);
      Value obj = Value::object();
      obj.set("labels", p);
      Value sc = Value::object();
      for (size_t k = 0; k < labels.size(); ++k) sc.set(labels[k], in.at("y_score").as_array()[i].as_array()[k]);
      obj.set("scores", sc);
      strs.pred.push_back(obj);
    }
    CHECK(close(value_of("ml_f1_macro", strs), want.at("f1_macro").as_double()));
    CHECK(close(value_of("ml_f1_samples", strs), want.at("f1_samples").as_double()));
    CHECK(close(value_of("roc_auc_macro", strs), want.at("roc_auc_macro").as_double()));

    std::string report = make_metric("ml_f1_micro")->report(mi);
    CHECK(report.find("samples avg") != std::string::npos);
    CHECK(report.find(graft::cat(want.at("n_samples_with_empty_prediction").as_int(), " of 300 samples without")) !=
          std::string::npos);
  }
}

TEST_CASE("multilabel edge cases: a label never true nor predicted counts 0 in the macro mean") {
  Value fx = graft::core::read_json_file(graft::test::fixture("metrics/multilabel.json"));
  const Value& e = fx.at("edge_cases");
  graft::MetricInput mi;
  mi.labels = {"a", "b", "c"};
  for (size_t i = 0; i < e.at("inputs").at("y_true").size(); ++i) {
    mi.gold.push_back(names_of(e.at("inputs").at("y_true").as_array()[i], mi.labels));
    mi.pred.push_back(names_of(e.at("inputs").at("y_pred").as_array()[i], mi.labels));
  }
  const Value& want = e.at("expected");
  for (const char* m : {"f1_micro", "f1_macro", "f1_samples", "hamming_loss", "subset_accuracy"}) {
    std::string name = std::string(m).rfind("f1", 0) == 0 ? std::string("ml_") + m : std::string(m);
    INFO(name);
    CHECK(close(value_of(name, mi), want.at(m).as_double()));
  }
  // ranking metrics need scores
  try {
    value_of("roc_auc_macro", mi);
    FAIL("expected DataError");
  } catch (const graft::DataError& err) {
    CHECK(std::string(err.what()).find("scores") != std::string::npos);
  }
  // a label outside the list, a size mismatch, an index out of range
  graft::MetricInput bad = mi;
  bad.pred[1] = Value(std::vector<std::string>{"zzz"});
  CHECK_THROWS_WITH_AS(value_of("ml_f1_micro", bad), doctest::Contains("label 'zzz' is not in the label list"),
                       graft::DataError);
  bad = mi;
  bad.pred.pop_back();
  CHECK_THROWS_AS(value_of("ml_f1_micro", bad), graft::DataError);
  bad = mi;
  bad.gold[0] = Value(std::vector<int64_t>{7});
  CHECK_THROWS_WITH_AS(value_of("ml_f1_micro", bad), doctest::Contains("label index 7 is outside 0..2"),
                       graft::DataError);
  CHECK(registry().find_metric("f1_samples") != nullptr);  // alias
}

TEST_CASE("graft score: multilabel lines (comma-separated, empty = no label) and JSON lines with scores") {
  Value fx = graft::core::read_json_file(graft::test::fixture("metrics/multilabel.json"));
  auto labels = strings(fx.at("label_list"));
  const Value& in = fx.at("inputs");
  std::string gold, pred, scored, label_spec;
  for (size_t k = 0; k < labels.size(); ++k) label_spec += (k ? "," : "") + labels[k];
  for (size_t i = 0; i < in.at("y_true").size(); ++i) {
    std::string g, p;
    Value gl = names_of(in.at("y_true").as_array()[i], labels);
    for (const auto& x : gl.as_array()) g += (g.empty() ? "" : ",") + x.as_string();
    Value pl = names_of(in.at("y_pred").as_array()[i], labels);
    for (const auto& x : pl.as_array()) p += (p.empty() ? "" : ",") + x.as_string();
    gold += g + "\n";
    pred += p + "\n";
    Value obj = Value::object();
    obj.set("labels", pl);
    obj.set("scores", in.at("y_score").as_array()[i]);
    scored += obj.dump_json() + "\n";
  }
  std::string dir = graft::test::temp_dir("ml_score");
  graft::core::write_file_atomic(dir + "/gold.txt", gold);
  graft::core::write_file_atomic(dir + "/pred.txt", pred);
  graft::core::write_file_atomic(dir + "/scored.jsonl", scored);
  std::string pp = "--plugin-path '" + graft::test::plugin_dir() + "' ";
  auto r = graft::test::run_graft(pp + "score ml_f1_micro ml_f1_macro ml_f1_samples hamming_loss subset_accuracy --gold '" +
                                  dir + "/gold.txt' --pred '" + dir + "/pred.txt' --labels " + label_spec + " --report");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Value out = graft::core::parse_json(r.out, "stdout");
  const Value& want = fx.at("expected");
  CHECK(close(out.at("ml_f1_micro").as_double(), want.at("f1_micro").as_double()));
  CHECK(close(out.at("ml_f1_macro").as_double(), want.at("f1_macro").as_double()));
  CHECK(close(out.at("ml_f1_samples").as_double(), want.at("f1_samples").as_double()));
  CHECK(close(out.at("hamming_loss").as_double(), want.at("hamming_loss").as_double()));
  CHECK(close(out.at("subset_accuracy").as_double(), want.at("subset_accuracy").as_double()));
  CHECK(r.err.find("samples avg") != std::string::npos);

  r = graft::test::run_graft(pp + "score roc_auc_macro average_precision_macro --gold '" + dir + "/gold.txt' --pred '" +
                             dir + "/scored.jsonl' --labels " + label_spec);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  out = graft::core::parse_json(r.out, "stdout");
  CHECK(close(out.at("roc_auc_macro").as_double(), want.at("roc_auc_macro").as_double()));
  CHECK(close(out.at("average_precision_macro").as_double(), want.at("average_precision_macro").as_double()));

  // bad input: an unknown label (file:line), roc_auc without scores, single-label metric on sets
  graft::core::write_file_atomic(dir + "/odd.txt", "admiration\nadmiration,nope\n");
  graft::core::write_file_atomic(dir + "/two.txt", "admiration\njoy\n");
  r = graft::test::run_graft(pp + "score ml_f1_micro --gold '" + dir + "/two.txt' --pred '" + dir + "/odd.txt' --labels " +
                             label_spec);
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(dir + "/odd.txt:2: label 'nope' is not in --labels") != std::string::npos);
  r = graft::test::run_graft(pp + "score ml_f1_micro --gold '" + dir + "/two.txt' --pred '" + dir + "/odd.txt'");
  CHECK(r.exit_code == 0);  // without --labels the union of labels is the label list
  r = graft::test::run_graft(pp + "score roc_auc_macro --gold '" + dir + "/gold.txt' --pred '" + dir + "/pred.txt'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("scores") != std::string::npos);
  graft::core::write_file_atomic(dir + "/bad.jsonl", "{\"labels\": [\"joy\"]\n");
  r = graft::test::run_graft(pp + "score ml_f1_micro --gold '" + dir + "/two.txt' --pred '" + dir + "/bad.jsonl'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(dir + "/bad.jsonl:1: the line starts like JSON but is not valid JSON") != std::string::npos);
}
