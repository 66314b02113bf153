// A tracked training run (tiny BERT): the MLflow store gets the run, report.html is written and
// renders in headless chromium with its charts (one polyline point per step / evaluation) and
// the confusion matrix. Skipped (with a message) when chromium is not installed.
#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <regex>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return {};
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

/// The value of attribute `attr` of the element with id `id` in serialized HTML ("" if absent).
std::string attr_of(const std::string& html, const std::string& id, const std::string& attr) {
  auto p = html.find("id=\"" + id + "\"");
  if (p == std::string::npos) return {};
  auto open = html.rfind('<', p);
  auto close = html.find('>', p);
  std::string tag = html.substr(open, close - open);
  auto a = tag.find(" " + attr + "=\"");
  if (a == std::string::npos) return {};
  a += attr.size() + 3;
  return tag.substr(a, tag.find('"', a) - a);
}

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("graft train with [tracking]: MLflow run + report.html rendered by headless chromium") {
  Registry& reg = Registry::global({test::plugin_dir()});
  std::string dir = test::temp_dir("report");
  std::string out = dir + "/model";
  Recipe recipe = load_recipe(test::fixture("training/tiny/recipe.toml"),
                              {cat("run.output_dir=\"", out, "\""), cat("tracking.mlflow=\"", dir, "/mlruns\""),
                               "tracking.experiment=\"report test\"", "training.epochs=3", "training.evaluate_every=4",
                               cat("data.cache_dir=\"", dir, "/cache\"")},
                              reg);
  TrainingRun run = train_recipe(recipe, reg, torch::kCPU, true);
  const size_t steps = run.result.steps.size();
  const size_t evals = run.result.evaluations.size();
  REQUIRE(steps > 4);
  REQUIRE(evals >= 2);

  // MLflow: experiment 1, one run with the curves, params and artifacts
  std::string exp_dir = dir + "/mlruns/1";
  REQUIRE(fs::exists(exp_dir + "/meta.yaml"));
  std::string run_dir;
  for (const auto& e : fs::directory_iterator(exp_dir))
    if (e.is_directory()) run_dir = e.path().string();
  REQUIRE_FALSE(run_dir.empty());
  CHECK(read_file(run_dir + "/meta.yaml").find("status: 3") != std::string::npos);
  std::string loss = read_file(run_dir + "/metrics/train/loss");
  CHECK(count(loss, "\n") == steps);
  CHECK(count(read_file(run_dir + "/metrics/dev/sentiment/acc"), "\n") == evals);
  CHECK(fs::exists(run_dir + "/metrics/test/sentiment/acc"));
  CHECK(read_file(run_dir + "/params/training.evaluate_every") == "4");
  CHECK(read_file(run_dir + "/params/run.name") == "tiny");
  CHECK(read_file(run_dir + "/tags/mlflow.runName") == "tiny");
  CHECK(fs::exists(run_dir + "/artifacts/report.html"));
  CHECK(fs::exists(run_dir + "/artifacts/metrics.json"));

  // the report itself
  std::string report = out + "/report.html";
  REQUIRE(fs::exists(report));
  std::string html = read_file(report);
  CHECK(html.find(cat("id=\"line-loss\" data-n=\"", steps, "\"")) != std::string::npos);
  CHECK(html.find(cat("id=\"line-dev-sentiment-acc\" data-n=\"", evals, "\"")) != std::string::npos);
  CHECK(html.find("id=\"recipe\"") != std::string::npos);

  std::string chromium = find_chromium();
  if (chromium.empty()) {
    MESSAGE("chromium is not installed (apt-get install chromium): the headless rendering check is skipped");
    return;
  }
  std::string profile = dir + "/chromium-profile";
  std::string dom = run_capture("timeout 120 " + chromium +
                                " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                                " --user-data-dir=" + profile + " --dump-dom 'file://" + report + "' 2>/dev/null");
  REQUIRE_MESSAGE(dom.find("<body") != std::string::npos, "chromium produced no DOM: ", dom.substr(0, 400));
  // the inline script ran: every chart has a non-empty bounding box
  const size_t charts = count(html, "<svg class=\"chart\"");
  CHECK(charts == 3 + 1);  // loss, lr, grad norm, dev metrics of the one task
  CHECK(attr_of(dom, "title", "id") == "title");
  CHECK(dom.find(cat("data-charts-rendered=\"", charts, "\"")) != std::string::npos);
  for (const char* id : {"chart-loss", "chart-lr", "chart-grad-norm", "chart-dev-sentiment"}) {
    CAPTURE(id);
    CHECK(attr_of(dom, id, "data-rendered") == "1");
  }
  // polylines as the browser parsed them: one point per step / evaluation
  CHECK(attr_of(dom, "line-loss", "data-drawn") == std::to_string(steps));
  CHECK(attr_of(dom, "line-lr", "data-drawn") == std::to_string(steps));
  CHECK(attr_of(dom, "line-dev-sentiment-acc", "data-drawn") == std::to_string(evals));
  // confusion matrix: labels² cells whose counts add up to the test set
  auto p = dom.find("id=\"confusion-sentiment\"");
  REQUIRE(p != std::string::npos);
  std::string table = dom.substr(p, dom.find("</table>", p) - p);
  const auto& labels = run.build.bundle.tasks.at(0).labels;
  CHECK(count(table, "class=\"cm") == labels.size() * labels.size());
  std::regex cell(R"(<td class="cm[^"]*" data-gold="[^"]*" data-pred="[^"]*" data-share="[^"]*" style="[^"]*">(\d+)</td>)");
  int64_t total = 0, cells = 0;
  for (auto it = std::sregex_iterator(table.begin(), table.end(), cell); it != std::sregex_iterator(); ++it) {
    total += std::stoll((*it)[1]);
    ++cells;
  }
  CHECK(cells == static_cast<int64_t>(labels.size() * labels.size()));  // styled by the script
  CHECK(total == static_cast<int64_t>(run.build.silo->task("sentiment").test.size()));
}
