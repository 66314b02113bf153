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
};

struct StepRecord {
  int64_t step = 0;         ///< 1-based optimizer step
  double lr = 0.0;          ///< learning rate used by this step
  double loss = 0.0;        ///< mean loss over its micro-batches (before the update)
  double grad_norm = 0.0;   ///< total gradient L2 norm before clipping
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
  double seconds = 0.0;
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

  Optimizer& optimizer() { return *optimizer_; }
  /// Called after each optimizer step (tests, tracking).
  std::function<void(const StepRecord&)> on_step;

 private:
  AdaptiveModel& model_;
  TrainerOptions opt_;
  std::unique_ptr<Optimizer> optimizer_;
  int64_t total_steps_ = 0;
  int64_t warmup_ = 0;
};

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
TrainingRun train_recipe(const Recipe& recipe, Registry& registry, const torch::Device& device, bool save = true);

/// The metrics/steps summary written as metrics.json.
Value training_summary(const TrainResult& result);

}  // namespace graft::core
