#pragma once
// Experiment tracking: an MLflow file store writer (the layout `mlflow ui --backend-store-uri`
// reads) and a self-contained report.html (inline SVG, no network) per run. Tracking never
// stops training: the first failure logs one warning and turns the tracker off.
#include <graft/metric.h>
#include <graft/value.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft::core {

struct Recipe;
struct StepRecord;
struct EvalRecord;
struct TrainResult;

/// Milliseconds since the Unix epoch.
int64_t now_ms();

/// One MLflow run in a file store:
///   <root>/<experiment_id>/meta.yaml
///   <root>/<experiment_id>/<run_id>/{meta.yaml, params/<key>, metrics/<key>, tags/<key>, artifacts/}
/// Metric files hold lines "<timestamp_ms> <value> <step>"; keys may contain '/' (nested
/// files, as MLflow writes them). Every method is noexcept: a failure warns once and disables
/// the run.
class MlflowRun {
 public:
  /// Opens the store at `root` (created when missing, with the "Default" experiment 0), finds
  /// or creates experiment `experiment`, and starts a run. With `resume_run_id` naming a run of
  /// that experiment the run is reopened (status RUNNING again) instead.
  MlflowRun(const std::string& root, const std::string& experiment, const std::string& run_name,
            const std::string& resume_run_id = "") noexcept;
  ~MlflowRun();
  MlflowRun(const MlflowRun&) = delete;
  MlflowRun& operator=(const MlflowRun&) = delete;

  bool ok() const { return ok_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& experiment_id() const { return experiment_id_; }
  const std::string& run_dir() const { return run_dir_; }
  std::string artifacts_dir() const { return run_dir_ + "/artifacts"; }
  bool resumed() const { return resumed_; }

  void log_param(const std::string& key, const std::string& value) noexcept;
  /// Flattens an object ("training.batch_size" → "32"); arrays and tables become JSON.
  void log_params(const Value& object, const std::string& prefix = "") noexcept;
  void log_metric(const std::string& key, double value, int64_t step, int64_t timestamp_ms = 0) noexcept;
  void set_tag(const std::string& key, const std::string& value) noexcept;
  /// Copies a file into artifacts/<subdir>/.
  void log_artifact(const std::string& file, const std::string& subdir = "") noexcept;
  /// Ends the run: "FINISHED", "FAILED" or "KILLED" (status 3 / 4 / 5, end_time now).
  void finish(const std::string& status = "FINISHED") noexcept;

  /// MLflow's sanitisation of keys: characters other than alphanumerics, '_', '-', '.', ' ',
  /// '/' become '_'; no leading '/', no "..".
  static std::string sanitize_key(const std::string& key);

 private:
  void fail(const std::string& what) noexcept;
  void write_meta(int status, int64_t end_time) noexcept;
  bool ok_ = false;
  bool finished_ = false;
  bool resumed_ = false;
  bool warned_ = false;
  std::string root_, experiment_id_, run_id_, run_dir_, run_name_, user_;
  int64_t start_time_ = 0;
};

/// Per-class scores of one task, from gold and predicted labels.
struct ClassTable {
  std::vector<std::string> labels;
  std::vector<std::vector<int64_t>> confusion;  ///< [gold][pred]
  struct Row {
    std::string label;
    double precision = 0, recall = 0, f1 = 0;
    int64_t support = 0;
  };
  std::vector<Row> rows;
  /// From a metric input whose gold/pred are label strings (or label arrays: multi-label,
  /// counted per label). Empty `labels` when they are not classification labels.
  static ClassTable from(const MetricInput& input);
};

/// Everything report.html shows.
struct ReportData {
  std::string title;
  std::string run_id;  ///< MLflow run id ("" when not tracked)
  std::vector<StepRecord> steps;
  std::vector<EvalRecord> evaluations;
  Value dev_metrics = Value::object();
  Value test_metrics = Value::object();
  std::map<std::string, ClassTable> classes;        ///< task → final per-class table (test or dev)
  std::map<std::string, std::string> class_source;  ///< task → "test" | "dev"
  std::map<std::string, std::string> reports;       ///< task → metric report text
  std::string recipe_toml;
  /// Cross-validation: one metrics object per fold, and their mean/std.
  std::vector<Value> folds;
  Value fold_mean = Value::object(), fold_std = Value::object();
  double seconds = 0.0;
};

/// The page: inline SVG charts (ids "chart-loss", "chart-lr", "chart-dev-<task>"), polylines
/// (ids "line-loss", "line-lr", "line-dev-<task>-<metric>") with one point per record, the
/// per-class tables ("classes-<task>") and confusion matrices ("confusion-<task>", cells with
/// data-gold / data-pred), the recipe (<pre id="recipe">), and a small inline script that
/// marks each rendered chart (data-rendered="1").
std::string render_report_html(const ReportData& data);
/// Writes render_report_html(data) atomically.
void write_report_html(const std::string& path, const ReportData& data);

/// Mean and (population) standard deviation of every numeric key across `folds`.
void fold_statistics(const std::vector<Value>& folds, Value& mean, Value& stdev);

/// What `graft train` tracks: opens the MLflow run lazily (so that a resumed trainer's run id
/// is known), logs the resolved recipe as params, tags, every step (loss, lr, grad_norm) and
/// evaluation, and at the end the test metrics, report.html and metrics.json as artifacts.
class RunTracker {
 public:
  /// `run_id` is the trainer's run id slot (read when the run opens, set to the new id).
  RunTracker(const Recipe& recipe, const Value& resolved_recipe, std::string* run_id);
  ~RunTracker();
  void on_step(const StepRecord& r) noexcept;
  void on_evaluation(const EvalRecord& e) noexcept;
  /// Logs the result, writes report.html into `output_dir` (when not empty) and as an
  /// artifact, and ends the run (KILLED when interrupted).
  void finish(const TrainResult& result, const std::string& output_dir,
              const std::map<std::string, MetricInput>& final_inputs = {}) noexcept;
  MlflowRun* mlflow() { return mlflow_.get(); }

 private:
  void open() noexcept;
  const Recipe& recipe_;
  Value resolved_;
  std::string* run_id_;
  std::unique_ptr<MlflowRun> mlflow_;
  bool opened_ = false;
};

/// The per-class tables of a result's final evaluation inputs (classification tasks only).
std::map<std::string, ClassTable> class_tables(const std::map<std::string, MetricInput>& inputs);

/// ReportData from a finished run.
ReportData report_data(const Recipe& recipe, const Value& resolved_recipe, const TrainResult& result,
                       const std::map<std::string, MetricInput>& final_inputs, const std::string& run_id);

}  // namespace graft::core
