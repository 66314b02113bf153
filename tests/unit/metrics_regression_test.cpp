// Regression metrics of the regression plugin against regression.json (scipy 1.10.1 /
// scikit-learn 1.2.1 / FARM 0.8), through the registry and through `graft score`.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
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
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_regression.so");
    return r;
  }();
  return *reg;
}

Value compute(const std::string& name, const graft::MetricInput& in) {
  const auto& entry = registry().metric(name).entry;
  auto opts = entry.make_options();
  return entry.make(*opts, graft::MetricContext{})->compute(in);
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

std::string number(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

TEST_CASE("regression metrics equal scipy / scikit-learn / FARM on the STS-B fixture") {
  std::vector<std::string> files = {graft::test::fixture("metrics/regression.json")};
  if (graft::test::have_shared()) files.push_back(graft::test::shared("fixtures/metrics/regression.json"));
  for (const auto& file : files) {
    CAPTURE(file);
    Value fx = graft::core::read_json_file(file);
    graft::MetricInput in;
    in.gold = fx.at("inputs").at("y_true").as_array();
    in.pred = fx.at("inputs").at("y_pred").as_array();
    const Value& want = fx.at("expected");
    CHECK(close(compute("mse", in).at("mse").as_double(), want.at("mse").as_double()));
    CHECK(close(compute("rmse", in).at("rmse").as_double(), want.at("rmse").as_double()));
    CHECK(close(compute("mae", in).at("mae").as_double(), want.at("mae").as_double()));
    CHECK(close(compute("r2", in).at("r2").as_double(), want.at("r2").as_double()));
    CHECK(close(compute("pearson", in).at("pearson").as_double(), want.at("pearson_r").as_double()));
    CHECK(close(compute("spearman", in).at("spearman").as_double(), want.at("spearman_rho").as_double()));
    Value ps = compute("pear_spear", in);
    const Value& farm = want.at("farm").at("pear_spear");
    for (const char* k : {"pearson", "spearman", "corr"}) {
      INFO(k);
      CHECK(close(ps.at(k).as_double(), farm.at(k).as_double()));
    }
    CHECK(close(compute("mse", in).at("mse").as_double(), want.at("farm").at("mse").at("mse").as_double()));

    // numbers as strings (what graft score reads) give the same values
    graft::MetricInput strs;
    for (const auto& v : in.gold) strs.gold.emplace_back(number(v.as_double()));
    for (const auto& v : in.pred) strs.pred.emplace_back(number(v.as_double()));
    CHECK(close(compute("spearman", strs).at("spearman").as_double(), want.at("spearman_rho").as_double()));
  }
}

TEST_CASE("regression metrics: several outputs are averaged; constant values and bad numbers are errors") {
  graft::MetricInput in;
  in.gold = {Value(std::vector<double>{1, 10}), Value(std::vector<double>{2, 20}), Value(std::vector<double>{3, 30})};
  in.pred = {Value(std::vector<double>{1, 12}), Value(std::vector<double>{2, 18}), Value(std::vector<double>{4, 30})};
  // mse per output: (0+0+1)/3 and (4+4+0)/3 → mean 1.5
  CHECK(close(compute("mse", in).at("mse").as_double(), 1.5));
  graft::MetricInput flat;
  flat.gold = {Value(1.0), Value(1.0)};
  flat.pred = {Value(1.0), Value(2.0)};
  CHECK_THROWS_WITH_AS(compute("pearson", flat), doctest::Contains("all equal"), graft::DataError);
  CHECK(compute("r2", flat).at("r2").as_double() == 0.0);  // sklearn: constant y, imperfect fit
  graft::MetricInput bad;
  bad.gold = {Value(1.0), Value("abc")};
  bad.pred = {Value(1.0), Value(2.0)};
  CHECK_THROWS_WITH_AS(compute("mse", bad), doctest::Contains("gold value 1 (0-based): 'abc' is not a number"),
                       graft::DataError);
}

TEST_CASE("graft score: regression numbers, one per line") {
  Value fx = graft::core::read_json_file(graft::test::fixture("metrics/regression.json"));
  std::string gold, pred;
  for (const auto& v : fx.at("inputs").at("y_true").as_array()) gold += number(v.as_double()) + "\n";
  for (const auto& v : fx.at("inputs").at("y_pred").as_array()) pred += number(v.as_double()) + "\n";
  std::string dir = graft::test::temp_dir("reg_score");
  graft::core::write_file_atomic(dir + "/gold.txt", gold);
  graft::core::write_file_atomic(dir + "/pred.txt", pred);
  std::string pp = "--plugin-path '" + graft::test::plugin_dir() + "' ";
  auto r = graft::test::run_graft(pp + "score mse r2 pear_spear --report --gold '" + dir + "/gold.txt' --pred '" + dir +
                                  "/pred.txt'");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Value out = graft::core::parse_json(r.out, "stdout");
  const Value& want = fx.at("expected");
  CHECK(close(out.at("mse").as_double(), want.at("mse").as_double()));
  CHECK(close(out.at("r2").as_double(), want.at("r2").as_double()));
  CHECK(close(out.at("pear_spear").at("corr").as_double(), want.at("farm").at("pear_spear").at("corr").as_double()));
  CHECK(r.err.find("spearman") != std::string::npos);

  graft::core::write_file_atomic(dir + "/bad.txt", "1.5\n2,5\nx\n");
  graft::core::write_file_atomic(dir + "/three.txt", "1\n2\n3\n");
  r = graft::test::run_graft(pp + "score mse --gold '" + dir + "/three.txt' --pred '" + dir + "/bad.txt'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(dir + "/bad.txt:2: 2 numbers, but the gold values have 1") != std::string::npos);
  graft::core::write_file_atomic(dir + "/bad.txt", "1.5\nx\n3\n");
  r = graft::test::run_graft(pp + "score mse --gold '" + dir + "/three.txt' --pred '" + dir + "/bad.txt'");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(dir + "/bad.txt:2: 'x' is not a number") != std::string::npos);
}
