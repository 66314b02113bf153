// MLflow file store layout (what `mlflow ui --backend-store-uri DIR` reads), report helpers.
#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/tracking.h>
#include <graft/core/trainer.h>
#include <graft/log.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

std::vector<std::string> lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream is(read_file(path));
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

/// "key: value" of a flat YAML file.
std::map<std::string, std::string> yaml(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& l : lines(path)) {
    auto c = l.find(": ");
    if (c == std::string::npos) continue;
    out[l.substr(0, c)] = l.substr(c + 2);
  }
  return out;
}

std::mutex g_mutex;
std::vector<std::string> g_warnings;
void sink(log::Level level, std::string_view msg) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (level >= log::Level::warn) g_warnings.emplace_back(msg);
}

}  // namespace

TEST_CASE("experiment and run meta.yaml, params, metrics, tags and artifacts in MLflow's layout") {
  std::string root = test::temp_dir("mlflow") + "/mlruns";
  std::string run_id, exp_id;
  {
    MlflowRun run(root, "nsmc sentiment", "kcbert 'base'");
    REQUIRE(run.ok());
    run_id = run.run_id();
    exp_id = run.experiment_id();
    CHECK(run_id.size() == 32);
    CHECK(run_id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(exp_id == "1");
    CHECK(run.run_dir() == fs::absolute(root).lexically_normal().string() + "/1/" + run_id);

    // the Default experiment, as a fresh MLflow store has it
    auto def = yaml(root + "/0/meta.yaml");
    CHECK(def["name"] == "'Default'");
    CHECK(def["experiment_id"] == "'0'");
    CHECK(def["lifecycle_stage"] == "active");

    auto exp = yaml(root + "/1/meta.yaml");
    CHECK(exp["name"] == "'nsmc sentiment'");
    CHECK(exp["experiment_id"] == "'1'");
    CHECK(exp["lifecycle_stage"] == "active");
    CHECK(exp["artifact_location"] == "file://" + fs::absolute(root).lexically_normal().string() + "/1");
    CHECK(std::stoll(exp["creation_time"]) > 1600000000000LL);
    CHECK(exp["last_update_time"] == exp["creation_time"]);

    auto meta = yaml(run.run_dir() + "/meta.yaml");
    CHECK(meta["run_id"] == run_id);
    CHECK(meta["run_uuid"] == run_id);
    CHECK(meta["experiment_id"] == "'1'");
    CHECK(meta["status"] == "1");  // RUNNING
    CHECK(meta["end_time"] == "null");
    CHECK(meta["lifecycle_stage"] == "active");
    CHECK(meta["run_name"] == "'kcbert ''base'''");  // YAML single-quote escaping
    CHECK(meta["artifact_uri"] == "file://" + run.run_dir() + "/artifacts");
    CHECK(meta["source_type"] == "4");
    CHECK(std::stoll(meta["start_time"]) > 1600000000000LL);
    CHECK(meta.count("user_id"));

    run.log_param("training.batch_size", "32");
    Value p = Value::object();
    Value training = Value::object();
    training.set("epochs", 2);
    training.set("lr", 2e-5);
    p.set("training", training);
    Value tasks = Value::array();
    Value t0 = Value::object();
    t0.set("name", "sentiment");
    t0.set("metrics", Value(std::vector<std::string>{"acc", "f1_macro"}));
    tasks.push_back(t0);
    p.set("tasks", tasks);
    run.log_params(p);
    run.log_metric("train/loss", 0.6931471805599453, 1, 1700000000123);
    run.log_metric("train/loss", 0.5, 2, 1700000000456);
    run.log_metric("sentiment/acc", 1e-5, 10, 1700000000789);
    run.log_metric("weird:key?", 1.0, 0, 1700000000999);
    run.set_tag("graft.note", "hello");
    std::string art = test::temp_dir("mlflow") + "/report.html";
    write_file_atomic(art, "<html></html>");
    run.log_artifact(art);
    run.log_artifact(art, "reports");
    run.finish();
    CHECK(run.ok());
  }
  std::string rd = root + "/" + exp_id + "/" + run_id;
  CHECK(read_file(rd + "/params/training.batch_size") == "32");
  CHECK(read_file(rd + "/params/training.epochs") == "2");
  CHECK(read_file(rd + "/params/training.lr") == "2e-05");
  CHECK(read_file(rd + "/params/tasks.0.name") == "sentiment");
  CHECK(read_file(rd + "/params/tasks.0.metrics") == "[\"acc\",\"f1_macro\"]");
  CHECK(lines(rd + "/metrics/train/loss") ==
        std::vector<std::string>{"1700000000123 0.6931471805599453 1", "1700000000456 0.5 2"});
  CHECK(lines(rd + "/metrics/sentiment/acc") == std::vector<std::string>{"1700000000789 1e-05 10"});
  CHECK(lines(rd + "/metrics/weird_key_") == std::vector<std::string>{"1700000000999 1 0"});
  CHECK(read_file(rd + "/tags/mlflow.runName") == "kcbert 'base'");
  CHECK(read_file(rd + "/tags/mlflow.source.name") == "graft");
  CHECK(read_file(rd + "/tags/mlflow.source.type") == "LOCAL");
  CHECK(fs::exists(rd + "/tags/mlflow.user"));
  CHECK(read_file(rd + "/tags/graft.note") == "hello");
  CHECK(read_file(rd + "/artifacts/report.html") == "<html></html>");
  CHECK(fs::exists(rd + "/artifacts/reports/report.html"));
  auto meta = yaml(rd + "/meta.yaml");
  CHECK(meta["status"] == "3");  // FINISHED
  CHECK(std::stoll(meta["end_time"]) >= std::stoll(meta["start_time"]));

  // the same experiment name reuses the experiment; a new name gets the next id
  {
    MlflowRun again(root, "nsmc sentiment", "second");
    CHECK(again.experiment_id() == "1");
    CHECK(again.run_id() != run_id);
    again.finish("FAILED");
    CHECK(yaml(again.run_dir() + "/meta.yaml")["status"] == "4");
    MlflowRun other(root, "other", "x");
    CHECK(other.experiment_id() == "2");
  }  // `other` not finished: the destructor ends it as FAILED
  bool found_failed = false;
  for (const auto& e : fs::directory_iterator(root + "/2"))
    if (e.is_directory()) found_failed = yaml((e.path() / "meta.yaml").string())["status"] == "4";
  CHECK(found_failed);

  // resuming a run reopens it (RUNNING, same start time) and appends
  {
    auto before = yaml(rd + "/meta.yaml");
    MlflowRun resumed(root, "nsmc sentiment", "ignored", run_id);
    CHECK(resumed.resumed());
    CHECK(resumed.run_id() == run_id);
    auto m = yaml(rd + "/meta.yaml");
    CHECK(m["status"] == "1");
    CHECK(m["start_time"] == before["start_time"]);
    CHECK(m["run_name"] == "'kcbert ''base'''");
    resumed.log_metric("train/loss", 0.25, 3, 1700000001000);
    resumed.finish("KILLED");
    CHECK(yaml(rd + "/meta.yaml")["status"] == "5");
  }
  CHECK(lines(rd + "/metrics/train/loss").size() == 3);
}

TEST_CASE("an unwritable store warns once and never throws") {
  std::string dir = test::temp_dir("mlflow");
  write_file_atomic(dir + "/file", "x");
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_warnings.clear();
  }
  log::set_sink(&sink);
  MlflowRun run(dir + "/file/mlruns", "e", "r");
  CHECK_FALSE(run.ok());
  run.log_metric("a", 1, 1);
  run.log_param("b", "c");
  run.set_tag("d", "e");
  run.finish();
  std::lock_guard<std::mutex> lock(g_mutex);
  REQUIRE(g_warnings.size() == 1);
  CHECK(g_warnings[0].find("MLflow tracking is off") != std::string::npos);
  CHECK(g_warnings[0].find(dir + "/file/mlruns") != std::string::npos);
}

TEST_CASE("a store that becomes unwritable mid-run: one warning, the run object stays usable") {
  std::string root = test::temp_dir("mlflow") + "/mlruns";
  MlflowRun run(root, "e", "r");
  REQUIRE(run.ok());
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_warnings.clear();
  }
  log::set_sink(&sink);
  // a file where the metric's directory must go
  write_file_atomic(run.run_dir() + "/metrics/blocked", "x");
  run.log_metric("blocked/loss", 1.0, 1);
  run.log_metric("blocked/loss", 1.0, 2);
  run.log_metric("fine", 1.0, 1);
  CHECK_FALSE(run.ok());
  std::lock_guard<std::mutex> lock(g_mutex);
  CHECK(g_warnings.size() == 1);
}

TEST_CASE("keys are sanitised like MLflow's") {
  CHECK(MlflowRun::sanitize_key("sentiment/acc") == "sentiment/acc");
  CHECK(MlflowRun::sanitize_key("/abs/../x") == "abs/__/x");
  CHECK(MlflowRun::sanitize_key("a:b c-d.e") == "a_b c-d.e");
  CHECK(MlflowRun::sanitize_key("") == "_");
}

TEST_CASE("per-class tables and confusion matrices from gold/pred labels; fold statistics") {
  MetricInput in;
  in.labels = {"neg", "pos"};
  for (auto [g, p] : std::vector<std::pair<const char*, const char*>>{
           {"neg", "neg"}, {"neg", "pos"}, {"pos", "pos"}, {"pos", "pos"}, {"pos", "neg"}, {"neg", "neg"}}) {
    in.gold.emplace_back(g);
    in.pred.emplace_back(p);
  }
  ClassTable t = ClassTable::from(in);
  REQUIRE(t.labels == std::vector<std::string>{"neg", "pos"});
  CHECK(t.confusion == std::vector<std::vector<int64_t>>{{2, 1}, {1, 2}});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0].precision == doctest::Approx(2.0 / 3));
  CHECK(t.rows[0].recall == doctest::Approx(2.0 / 3));
  CHECK(t.rows[1].support == 3);
  // multi-label: per label, no confusion matrix
  MetricInput ml;
  ml.labels = {"a", "b"};
  ml.gold = {Value(std::vector<std::string>{"a", "b"}), Value(std::vector<std::string>{"b"})};
  ml.pred = {Value(std::vector<std::string>{"a"}), Value(std::vector<std::string>{"a", "b"})};
  ClassTable m = ClassTable::from(ml);
  CHECK(m.confusion.empty());
  CHECK(m.rows[0].precision == doctest::Approx(0.5));
  CHECK(m.rows[1].recall == doctest::Approx(0.5));
  // regression (numbers): no table
  MetricInput reg;
  reg.gold = {Value(1.0)};
  reg.pred = {Value(2.0)};
  CHECK(ClassTable::from(reg).labels.empty());

  std::vector<Value> folds(3, Value::object());
  folds[0].set("t/acc", 0.8);
  folds[1].set("t/acc", 0.9);
  folds[2].set("t/acc", 1.0);
  Value mean, sd;
  fold_statistics(folds, mean, sd);
  CHECK(mean.at("t/acc").as_double() == doctest::Approx(0.9));
  CHECK(sd.at("t/acc").as_double() == doctest::Approx(std::sqrt(0.02 / 3)));
}

TEST_CASE("report html: charts with one point per record, tables, escaped recipe") {
  ReportData d;
  d.title = "tiny <run>";
  for (int i = 1; i <= 7; ++i) d.steps.push_back(StepRecord{i, 1e-3 * i, 1.0 / i, 0.5});
  for (int i : {3, 6}) {
    EvalRecord e;
    e.step = i;
    e.metrics.set("sentiment/acc", 0.5 + 0.1 * i);
    e.metrics.set("sentiment/loss", 1.0 / i);
    d.evaluations.push_back(e);
  }
  MetricInput in;
  in.labels = {"0", "1"};
  in.gold = {Value("0"), Value("1")};
  in.pred = {Value("0"), Value("0")};
  d.classes["sentiment"] = ClassTable::from(in);
  d.recipe_toml = "[run]\nname = \"a<b>\"\n";
  std::string html = render_report_html(d);
  CHECK(html.find("id=\"line-loss\" data-n=\"7\"") != std::string::npos);
  CHECK(html.find("id=\"line-lr\" data-n=\"7\"") != std::string::npos);
  CHECK(html.find("id=\"line-dev-sentiment-acc\" data-n=\"2\"") != std::string::npos);
  CHECK(html.find("id=\"confusion-sentiment\"") != std::string::npos);
  CHECK(html.find("data-gold=\"1\" data-pred=\"0\"") != std::string::npos);
  CHECK(html.find("name = &quot;a&lt;b&gt;&quot;") != std::string::npos);
  CHECK(html.find("tiny &lt;run&gt;") != std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no external resources
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script src") == std::string::npos);
}
