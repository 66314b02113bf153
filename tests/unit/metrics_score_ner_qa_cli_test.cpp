// `graft score seq_f1 --conll F` and `graft score squad --gold DEV.json --pred PRED.json` behave
// as conlleval-style scoring and the official SQuAD script.
#include <doctest/doctest.h>

#include <graft/core/json.h>
#include <graft/error.h>

#include "test_support.h"

#include <cmath>
#include <fstream>

using namespace graft;

namespace {

std::string write(const std::string& name, const std::string& text) {
  std::string path = test::temp_dir("score-nq") + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

}  // namespace

TEST_CASE("graft score seq_f1 --conll: the ner.json sentences written conlleval-style") {
  Value fx = core::read_json_file(test::fixture("metrics/ner.json"));
  const auto& gold = fx.at("inputs").at("y_true").as_array();
  const auto& pred = fx.at("inputs").at("y_pred").as_array();
  std::string text = "-DOCSTART- O O\n\n";
  for (size_t s = 0; s < gold.size(); ++s) {
    for (size_t t = 0; t < gold[s].size(); ++t)
      text += cat("tok", t, " ", gold[s].as_array()[t].as_string(), "\t", pred[s].as_array()[t].as_string(), "\n");
    text += "\n";
  }
  auto r = test::run_graft(cat("score seq_f1 --conll '", write("ner.conll", text), "' --report"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  Value out = core::parse_json(r.out, "stdout");
  const Value& exp = fx.at("expected").at("default");
  CHECK(close(out.at("seq_f1").at("seq_f1").as_double(), exp.at("f1_micro").as_double()));
  CHECK(close(out.at("seq_f1").at("seq_precision").as_double(), exp.at("precision_micro").as_double()));
  CHECK(r.err.find(exp.at("classification_report_text_digits4").as_string()) != std::string::npos);

  auto bad = test::run_graft(cat("score seq_f1 --conll '", write("bad.conll", "EU B-ORG B-ORG\nrejects\n"), "'"));
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("bad.conll:2") != std::string::npos);
}

TEST_CASE("graft score squad --gold --pred prints the official script's exact_match and f1") {
  Value fx = core::read_json_file(test::fixture("metrics/qa_squad_v1_1.json"));
  const Value& edge = fx.at("edge_cases");
  std::string gold = write("gold.json", edge.at("gold").dump_json(2));
  std::string pred = write("pred.json", edge.at("predictions").dump_json());
  auto r = test::run_graft(cat("score squad --gold '", gold, "' --pred '", pred, "'"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  Value out = core::parse_json(r.out, "stdout").at("squad");
  CHECK(close(out.at("exact_match").as_double(), edge.at("expected").at("total").at("exact_match").as_double()));
  CHECK(close(out.at("f1").as_double(), edge.at("expected").at("total").at("f1").as_double()));
  if (test::have_shared()) {
    Value v2 = core::read_json_file(test::shared("fixtures/metrics/qa_squad_v2.json"));
    std::string g2 = write("gold2.json", v2.at("gold").dump_json());
    std::string p2 = write("pred2.json", v2.at("predictions").dump_json());
    std::string n2 = write("na2.json", v2.at("na_probs").dump_json());
    auto r2 = test::run_graft(cat("score squad --gold '", g2, "' --pred '", p2, "' --na-prob '", n2, "'"));
    REQUIRE_MESSAGE(r2.exit_code == 0, r2.err);
    Value o2 = core::parse_json(r2.out, "stdout").at("squad");
    for (const auto& [k, v] : v2.at("expected").at("default").as_object()) {
      CAPTURE(k);
      CHECK(close(o2.at(k).as_double(), v.as_double()));
    }
  }
  auto bad = test::run_graft(cat("score squad --gold '", write("notsquad.json", "{\n  \"x\": 1\n}\n"), "' --pred '", pred, "'"));
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("notsquad.json") != std::string::npos);
}
