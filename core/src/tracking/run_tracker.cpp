// RunTracker: what `graft train` logs to MLflow and writes as report.html.
#include <graft/core/trainer.h>
#include <graft/core/tracking.h>
#include <graft/error.h>
#include <graft/log.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace graft::core {

RunTracker::RunTracker(const Recipe& recipe, const Value& resolved_recipe, std::string* run_id)
    : recipe_(recipe), resolved_(resolved_recipe), run_id_(run_id) {}

RunTracker::~RunTracker() = default;  // an unfinished MLflow run ends as FAILED

void RunTracker::open() noexcept {
  if (opened_) return;
  opened_ = true;
  if (recipe_.tracking.mlflow.empty()) return;
  try {
    std::string name = recipe_.tracking.run_name.empty() ? recipe_.run.name : recipe_.tracking.run_name;
    mlflow_ = std::make_unique<MlflowRun>(recipe_.tracking.mlflow, recipe_.tracking.experiment, name,
                                          run_id_ ? *run_id_ : std::string());
    if (!mlflow_->ok()) return;
    if (run_id_) *run_id_ = mlflow_->run_id();
    if (mlflow_->resumed()) {
      log::info("tracking: continuing MLflow run ", mlflow_->run_id(), " in ", mlflow_->run_dir());
      return;
    }
    log::info("tracking: MLflow run ", mlflow_->run_id(), " (experiment '", recipe_.tracking.experiment, "' ",
              mlflow_->experiment_id(), ") in ", recipe_.tracking.mlflow);
    mlflow_->log_params(resolved_);
    if (!recipe_.path.empty()) mlflow_->set_tag("graft.recipe", fs::absolute(recipe_.path).string());
  } catch (const std::exception& e) {
    log::warn("tracking: ", e.what(), "; MLflow tracking is off (training goes on)");
    mlflow_.reset();
  }
}

void RunTracker::on_step(const StepRecord& r) noexcept {
  open();
  if (!mlflow_ || !mlflow_->ok()) return;
  int64_t t = now_ms();
  mlflow_->log_metric("train/loss", r.loss, r.step, t);
  mlflow_->log_metric("train/lr", r.lr, r.step, t);
  mlflow_->log_metric("train/grad_norm", r.grad_norm, r.step, t);
}

void RunTracker::on_evaluation(const EvalRecord& e) noexcept {
  open();
  if (!mlflow_ || !mlflow_->ok()) return;
  try {
    int64_t t = now_ms();
    for (const auto& [k, v] : e.metrics.as_object())
      if (v.is_number()) mlflow_->log_metric("dev/" + k, v.as_double(), e.step, t);
  } catch (...) {
  }
}

void RunTracker::finish(const TrainResult& result, const std::string& output_dir,
                        const std::map<std::string, MetricInput>& final_inputs) noexcept {
  open();
  try {
    const int64_t last = result.steps.empty() ? 0 : result.steps.back().step;
    std::string report_path;
    if (recipe_.tracking.report && !output_dir.empty()) {
      report_path = output_dir + "/report.html";
      write_report_html(report_path, report_data(recipe_, resolved_, result, final_inputs,
                                                 mlflow_ && mlflow_->ok() ? mlflow_->run_id() : std::string()));
      log::info("report: ", report_path);
    }
    if (mlflow_ && mlflow_->ok()) {
      int64_t t = now_ms();
      for (const auto& [k, v] : result.test_metrics.as_object())
        if (v.is_number()) mlflow_->log_metric("test/" + k, v.as_double(), last, t);
      if (result.best_step > 0) mlflow_->log_metric("best_step", static_cast<double>(result.best_step), last, t);
      mlflow_->set_tag("graft.stopped_early", result.stopped_early ? "true" : "false");
      if (!output_dir.empty()) {
        mlflow_->set_tag("graft.output_dir", fs::absolute(output_dir).string());
        for (const char* f : {"metrics.json", "resolved_recipe.toml", "graft.toml", "config.json"})
          if (fs::exists(output_dir + "/" + f)) mlflow_->log_artifact(output_dir + "/" + f);
      }
      if (!report_path.empty()) {
        mlflow_->log_artifact(report_path);
      } else if (recipe_.tracking.report) {  // no output dir (--no-save): the report lives in the run only
        std::string p = mlflow_->artifacts_dir() + "/report.html";
        write_report_html(p, report_data(recipe_, resolved_, result, final_inputs, mlflow_->run_id()));
      }
      mlflow_->finish(result.interrupted ? "KILLED" : "FINISHED");
    }
  } catch (const std::exception& e) {
    log::warn("tracking: cannot finish the run's report/tracking: ", e.what(), " (the trained model is not affected)");
    if (mlflow_) mlflow_->finish(result.interrupted ? "KILLED" : "FINISHED");
  }
}

}  // namespace graft::core
