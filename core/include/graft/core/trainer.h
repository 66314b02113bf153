#pragma once
// Trainer: optimizer steps over the silo's training batches (grad accumulation, clipping,
// schedule, autocast), evaluation on dev every N steps and per epoch, early stopping with
// restore-best, and the final test evaluation with per-class reports.
#include <graft/core/adaptive_model.h>
#include <graft/core/data_silo.h>
#include <graft/core/evaluator.h>
#include <graft/core/model_dir.h>
#include <graft/core/optim.h>
#include <graft/core/recipe.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace graft::core {

struct EarlyStopping {
  std::string metric;  ///< "task/metric"; empty = disabled
  std::string mode = "max";
  int64_t patience = 3;
  double min_delta = 0.0;
  bool restore_best = true;
  bool enabled() const { return !metric.empty(); }
  /// From the recipe's [training] early_stopping table; ConfigError naming the field (and its
  /// file:line) for unknown keys, wrong types or values.
  static EarlyStopping from_value(const Value& table);
  Value to_value() const;
};

struct TrainerOptions {
  TrainingSection training;
  OptimizerSection optimizer;
  ScheduleSection schedule;
  EarlyStopping early_stopping;
  int64_t seed = 42;
  /// Checkpoints: `checkpoint.every`/`keep` from the recipe; `checkpoint_dir` empty = none
  /// (and no signal handling).
  CheckpointSection checkpoint;
  std::string checkpoint_dir;
  /// "" = fresh start; "latest" = newest complete checkpoint in checkpoint_dir; else a directory.
  std::string resume;
  /// Written into each checkpoint as resolved_recipe.toml (when an object).
  Value resolved_recipe;
  /// fp16 dynamic loss scaling (used with precision "fp16"; `force_loss_scaler` uses it with
  /// any precision — tests).
  LossScalerOptions loss_scaler;
  bool force_loss_scaler = false;
};

struct StepRecord {
  int64_t step = 0;         ///< 1-based optimizer step
  double lr = 0.0;          ///< learning rate used by this step
  double loss = 0.0;        ///< mean loss over its micro-batches (before the update)
  double grad_norm = 0.0;   ///< total gradient L2 norm before clipping
  int64_t samples = 0;      ///< rows in its micro-batches
  int64_t tokens = 0;       ///< non-padding tokens in its micro-batches
  bool skipped = false;     ///< fp16: inf/nan gradients, no update
  double loss_scale = 0.0;  ///< fp16: the scale used (0 without scaling)
};

struct EvalRecord {
  int64_t step = 0;
  int64_t epoch = 0;
  Value metrics = Value::object();  ///< "task/metric" → number
};

struct TrainResult {
  std::vector<StepRecord> steps;
  std::vector<EvalRecord> evaluations;
  int64_t best_step = 0;           ///< step of the best dev evaluation (early stopping metric)
  double best_value = 0.0;
  bool stopped_early = false;
  Value dev_metrics = Value::object();   ///< last (or restored best) dev metrics
  Value test_metrics = Value::object();  ///< "task/metric" on the test sets
  std::map<std::string, std::string> test_reports;  ///< task → report text
  std::map<std::string, MetricInput> test_inputs;   ///< task → gold/pred of the test set (report.html)
  double seconds = 0.0;
  bool interrupted = false;      ///< stopped by SIGTERM/SIGINT after writing `checkpoint`
  int interrupt_signal = 0;
  std::string checkpoint;        ///< the last checkpoint written ("" = none)
  int64_t resumed_from_step = 0;  ///< > 0 when the run continued a checkpoint
  int64_t skipped_steps = 0;     ///< fp16 steps skipped for inf/nan gradients
  /// --dry-run: one optimizer step's time and the process' peak memory.
  double dry_run_step_seconds = 0.0;
  int64_t peak_rss_bytes = 0;
};

/// One micro-batch of a task.
struct TaskBatch {
  std::string task;
  Batch batch;
};

class Trainer {
 public:
  /// Builds the optimizer over `model`'s trainable parameters (HF no-decay groups).
  Trainer(AdaptiveModel& model, TrainerOptions options);
  ~Trainer();

  /// Trains on the silo; evaluates with `metrics` (task → metric list).
  TrainResult fit(DataSilo& silo, const std::map<std::string, std::vector<NamedMetric>>& metrics);

  /// Total optimizer steps the schedule spans (set by fit; set it when calling train_step).
  void set_total_steps(int64_t total);
  /// One optimizer step over the micro-batches: lr from the schedule, forward/backward
  /// (losses divided by the micro-batch count), clipping, update, zero_grad.
  StepRecord train_step(const std::vector<TaskBatch>& micro);

  /// Builds everything, runs one optimizer step on the first batches of the training data
  /// (forward + backward + update; nothing is saved) and reports its time and the peak memory.
  TrainResult dry_run(DataSilo& silo);

  Optimizer& optimizer() { return *optimizer_; }
  LossScaler* loss_scaler() { return scaler_.get(); }
  /// Called after each optimizer step (tests, tracking).
  std::function<void(const StepRecord&)> on_step;
  /// Called after each dev evaluation (tracking).
  std::function<void(const EvalRecord&)> on_evaluation;
  /// Writes the model into a checkpoint directory (train_recipe: a full model directory).
  /// Default: model.safetensors with export_state() names. Whatever it writes must contain
  /// model.safetensors with every export_state() parameter.
  std::function<void(const std::string& dir)> save_model;
  /// The tracking run id saved in checkpoints; after fit() resumed, the checkpoint's.
  std::string run_id;

 private:
  struct Loop;
  void apply_static_freezing();
  void set_language_model_trainable(bool trainable);
  AdaptiveModel& model_;
  TrainerOptions opt_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LossScaler> scaler_;
  int64_t total_steps_ = 0;
  int64_t warmup_ = 0;
  int64_t step_ = 0;  ///< optimizer steps taken (including fp16-skipped ones): the schedule's clock
  bool lm_frozen_ = false;
};

/// Peak resident memory of this process (VmHWM from /proc/self/status), 0 when unknown.
int64_t peak_rss_bytes();

/// TrainerOptions from a recipe's sections (early stopping parsed).
TrainerOptions trainer_options(const Recipe& recipe);
/// run.output_dir with "{name}" replaced by run.name.
std::string output_dir(const Recipe& recipe);

/// A whole training run: build (tokenizer, data, model), train, evaluate, and — when
/// `save` — write the model directory (with resolved_recipe.toml and metrics.json) to
/// output_dir(recipe).
struct TrainingRun {
  RecipeBuild build;
  TrainResult result;
  std::string output_dir;  ///< where the model was saved ("" when not saved)
};
struct TrainRecipeOptions {
  bool save = true;     ///< write the model directory
  std::string resume;   ///< "" | "latest" | checkpoint directory
  bool dry_run = false; ///< build, one step, report (nothing written)
  /// (tracking/cross-validation) Called after the data and model are built, before training
  /// (e.g. to replace the train/dev split by a cross-validation fold).
  std::function<void(RecipeBuild&)> after_build;
  bool track = true;    ///< MLflow tracking and report.html per [tracking]
};
TrainingRun train_recipe(const Recipe& recipe, Registry& registry, const torch::Device& device, bool save = true);
TrainingRun train_recipe(const Recipe& recipe, Registry& registry, const torch::Device& device,
                         const TrainRecipeOptions& options);
/// Where the checkpoints of a recipe go: [checkpoint] dir, or "<output_dir>-checkpoints".
std::string checkpoints_root(const Recipe& recipe);

/// The metrics/steps summary written as metrics.json.
Value training_summary(const TrainResult& result);

}  // namespace graft::core
