// graft train with [cross_validation]: one tiny model per fold, per-fold metrics and their
// mean/std in cross_validation.json and report.html (library and CLI).
#include "test_support.h"

#include <graft/core/cross_validation.h>
#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

TEST_CASE("3-fold stratified cross-validation of the tiny recipe") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("cv");
  std::string out = dir + "/cv";
  Recipe recipe = load_recipe(test::fixture("training/tiny/recipe.toml"),
                              {cat("run.output_dir=\"", out, "\""), "training.epochs=2", "cross_validation.folds=3",
                               "cross_validation.stratified=true", cat("data.cache_dir=\"", dir, "/cache\""),
                               cat("tracking.mlflow=\"", dir, "/mlruns\"")},
                              reg);
  CrossValidationResult cv = cross_validate(recipe, reg, torch::kCPU, true);
  REQUIRE(cv.folds.size() == 3);
  int64_t pooled = cv.folds[0].train_records + cv.folds[0].fold_records;
  int64_t held = 0;
  std::vector<double> acc;
  for (const auto& f : cv.folds) {
    CHECK(f.train_records + f.fold_records == pooled);  // every fold sees all pooled records
    held += f.fold_records;
    REQUIRE(f.dev.contains("sentiment/acc"));
    CHECK(f.test.contains("sentiment/acc"));  // the test file is evaluated in every fold
    acc.push_back(f.dev.at("sentiment/acc").as_double());
  }
  CHECK(held == pooled);  // the folds partition the pooled records
  double mean = (acc[0] + acc[1] + acc[2]) / 3;
  double sd = std::sqrt(((acc[0] - mean) * (acc[0] - mean) + (acc[1] - mean) * (acc[1] - mean) +
                         (acc[2] - mean) * (acc[2] - mean)) / 3);
  CHECK(cv.dev_mean.at("sentiment/acc").as_double() == doctest::Approx(mean));
  CHECK(cv.dev_std.at("sentiment/acc").as_double() == doctest::Approx(sd));
  Value j = read_json_file(out + "/cross_validation.json");
  CHECK(j.at("folds").size() == 3);
  CHECK(j.at("mean").at("dev").at("sentiment/acc").as_double() == doctest::Approx(mean));
  std::string html = read_file(out + "/report.html");
  CHECK(html.find("id=\"folds\"") != std::string::npos);
  size_t rows = 0;
  for (size_t p = html.find("<tr class=\"fold\">"); p != std::string::npos; p = html.find("<tr class=\"fold\">", p + 1)) ++rows;
  CHECK(rows == 3);
  CHECK(html.find("<tr class=\"mean\">") != std::string::npos);
  // MLflow: per-fold metrics with the fold as step
  std::string run_dir;
  for (const auto& e : fs::directory_iterator(dir + "/mlruns/1"))
    if (e.is_directory()) run_dir = e.path().string();
  REQUIRE_FALSE(run_dir.empty());
  std::string m = read_file(run_dir + "/metrics/cv/dev/sentiment/acc");
  CHECK(std::count(m.begin(), m.end(), '\n') == 3);
  CHECK(fs::exists(run_dir + "/metrics/cv_mean/dev/sentiment/acc"));
}

TEST_CASE("graft train runs the folds from the CLI and prints mean/std") {
  std::string dir = test::temp_dir("cv");
  auto r = test::run_graft(cat("--plugin-path ", test::plugin_dir(), " train ", test::fixture("training/tiny/recipe.toml"), " --set training.epochs=1",
                               " --set cross_validation.folds=2 --set 'run.output_dir=\"", dir, "/out\"'",
                               " --set 'data.cache_dir=\"", dir, "/cache\"'"));
  CAPTURE(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"mean\"") != std::string::npos);
  CHECK(r.err.find("cross-validation fold 2/2") != std::string::npos);
  CHECK(r.err.find("mean ± std") != std::string::npos);
  CHECK(fs::exists(dir + "/out/cross_validation.json"));
}
