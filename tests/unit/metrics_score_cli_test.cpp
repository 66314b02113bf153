// `graft score`: metrics from the registry on label files, one JSON object on stdout.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/json.h>

#include <cmath>
#include <fstream>
#include <string>

using graft::Value;

namespace {

std::string write(const std::string& dir, const std::string& name, const std::string& content) {
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string lines(const Value& array) {
  std::string out;
  for (const auto& v : array.as_array()) out += v.as_string() + "\n";
  return out;
}

std::string plugin_arg() { return "--plugin-path '" + graft::test::plugin_dir() + "' "; }

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

}  // namespace

TEST_CASE("graft score prints one JSON object keyed by metric name") {
  Value doc = graft::core::read_json_file(graft::test::fixture("metrics/classification.json"));
  const Value& c = doc.at("cases").at("binary");
  std::string dir = graft::test::temp_dir("score");
  std::string gold = write(dir, "gold.txt", lines(c.at("inputs").at("y_true")));
  std::string pred = write(dir, "pred.txt", lines(c.at("inputs").at("y_pred")));

  auto r = graft::test::run_graft(plugin_arg() + "score acc f1_macro mcc acc_f1 --gold '" + gold + "' --pred '" + pred +
                                  "' --labels 0,1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Value out = graft::core::parse_json(r.out, "graft score stdout");
  REQUIRE(out.size() == 4);
  const Value& e = c.at("expected");
  const Value& farm = c.at("expected_farm");
  CHECK(close(out.at("acc").as_double(), e.at("accuracy").as_double()));
  CHECK(close(out.at("f1_macro").as_double(), e.at("f1_macro").as_double()));
  CHECK(close(out.at("mcc").as_double(), e.at("matthews_corrcoef").as_double()));
  for (const char* k : {"acc", "f1", "acc_and_f1"})
    CHECK(close(out.at("acc_f1").at(k).as_double(), farm.at("acc_f1").at(k).as_double()));
  CHECK(r.err.find("precision") == std::string::npos);  // no report without --report
}

TEST_CASE("graft score --report prints the classification report to stderr") {
  Value doc = graft::core::read_json_file(graft::test::fixture("metrics/classification.json"));
  const Value& edge = doc.at("edge_cases");
  std::string dir = graft::test::temp_dir("score");
  // CRLF line ends and no final newline are accepted.
  std::string g = lines(edge.at("inputs").at("y_true")), p = lines(edge.at("inputs").at("y_pred"));
  std::string gold = write(dir, "gold.txt", g);
  std::string crlf;
  for (char ch : p) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  crlf.resize(crlf.size() - 2);
  std::string pred = write(dir, "pred.txt", crlf);
  auto r = graft::test::run_graft(plugin_arg() + "score f1_macro acc --report --gold '" + gold + "' --pred '" + pred +
                                  "' --labels a,b,c,d");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Value out = graft::core::parse_json(r.out, "stdout");
  CHECK(close(out.at("f1_macro").as_double(), edge.at("expected").at("f1_macro").as_double()));
  CHECK(r.err.find(edge.at("expected").at("classification_report_text_digits4").as_string()) != std::string::npos);
  CHECK(r.err.find("confusion matrix") != std::string::npos);
}

TEST_CASE("graft score errors name the file, line and what was expected") {
  std::string dir = graft::test::temp_dir("score");
  std::string gold = write(dir, "gold.txt", "pos\nneg\npos\n");
  std::string short_pred = write(dir, "short.txt", "pos\nneg\n");
  std::string blank = write(dir, "blank.txt", "pos\n\nneg\n");
  std::string odd = write(dir, "odd.txt", "pos\nmeh\nneg\n");

  auto r = graft::test::run_graft(plugin_arg() + "score acc --gold '" + gold + "' --pred '" + short_pred + "'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("--gold " + gold + " has 3 labels but --pred " + short_pred + " has 2") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score acc --gold '" + gold + "' --pred '" + blank + "'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(blank + ":2: empty line; expected one label per line") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score acc --gold '" + gold + "' --pred '" + odd + "' --labels neg,pos");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(odd + ":2: label 'meh' is not in --labels (neg, pos)") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score acc --gold '" + dir + "/nope.txt' --pred '" + gold + "'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(dir + "/nope.txt: no such file") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score acc_f11 --gold '" + gold + "' --pred '" + gold + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("acc_f11") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score --gold '" + gold + "' --pred '" + gold + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("name at least one metric") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score acc --gold '" + gold + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--pred FILE is required") != std::string::npos);

  r = graft::test::run_graft(plugin_arg() + "score acc --gold '" + gold + "' --pred '" + gold + "' --labels a,,b");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("empty label name") != std::string::npos);
}

TEST_CASE("graft score --help") {
  auto r = graft::test::run_graft("score --help");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("usage: graft score METRIC...") != std::string::npos);
  CHECK(r.out.find("--labels") != std::string::npos);
}
