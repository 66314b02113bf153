#pragma once
// A recipe, read from TOML and validated against the registry before any work starts.
// Section structs use the same Options/visit() mechanism as plugin components, so reading,
// `graft recipe show`, resolved_recipe.toml and the generated reference share one definition.
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/options.h>
#include <graft/value.h>

#include <memory>
#include <string>
#include <vector>

namespace graft::core {

struct RunSection {
  std::string name = "graft-run";
  int64_t seed = 42;
  std::string output_dir = "runs/{name}";  ///< "{name}" is replaced by `name`
  std::string device = "auto";
  int64_t threads = 0;  ///< 0 = all available cores (CLI --threads wins)
  void visit(OptionVisitor& v);
};

struct LanguageModelSection {
  std::string checkpoint;  ///< HF model dir (config.json + weights); empty = build from `config`
  std::string type;        ///< registry name; empty = from config.json model_type
  Value config;            ///< config.json keys for from-scratch models / overrides
  void visit(OptionVisitor& v);
};

struct TokenizerSection {
  std::string type;       ///< empty = from the checkpoint's files
  Value options;          ///< the tokenizer component's own table (minus `type`)
  std::shared_ptr<OptionsBase> parsed;  ///< (added) options of registry tokenizer `type`; null when type is empty
};

struct TaskSection {
  std::string name;
  double loss_weight = 1.0;
  std::string processor_type;
  std::unique_ptr<OptionsBase> processor;  ///< options of registry processor `processor_type`
  Value processor_table;
  std::string head_type;
  std::unique_ptr<OptionsBase> head;
  Value head_table;
  std::vector<std::string> metrics;  ///< registry metric names
};

struct TrainingSection {
  int64_t epochs = 1;
  int64_t max_steps = 0;       ///< > 0 stops after this many optimizer steps
  int64_t batch_size = 32;
  int64_t eval_batch_size = 0;  ///< 0 = batch_size
  int64_t grad_accumulation = 1;
  double max_grad_norm = 1.0;   ///< <= 0 disables clipping
  std::string precision = "fp32";  ///< fp32 | bf16 | fp16
  int64_t evaluate_every = 0;   ///< steps; 0 = once per epoch
  Value early_stopping;         ///< table {metric, mode, patience, min_delta, restore_best}
  std::string sampling = "proportional";
  int64_t log_every = 10;
  bool progress = true;
  bool freeze_embeddings = false;           ///< the language model's embeddings never train
  int64_t freeze_layers = 0;                ///< encoder layers 0..N-1 never train
  int64_t freeze_language_model_steps = 0;  ///< the whole LM is frozen for the first N steps
  void visit(OptionVisitor& v);
};

struct OptimizerSection {
  std::string type = "adamw";  ///< adamw | hf_adamw | bert_adamw | adam | sgd | lamb
  double lr = 2e-5;
  double weight_decay = 0.01;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double momentum = 0.0;
  bool nesterov = false;
  double layer_decay = 1.0;  ///< layer-wise lr decay: lr * layer_decay^(top - depth)
  void visit(OptionVisitor& v);
};

struct ScheduleSection {
  std::string type = "linear";  ///< constant | linear | cosine | cosine_with_restarts | polynomial | inverse_sqrt
  double warmup = 0.1;          ///< fraction of total steps when < 1, else steps
  double num_cycles = 0.0;      ///< cosine: 0 = 0.5 (half a wave); cosine_with_restarts: 0 = 1
  double power = 1.0;           ///< polynomial
  double lr_end = 1e-7;         ///< polynomial: final learning rate
  int64_t timescale = 0;        ///< inverse_sqrt: 0 = warmup steps (10000 without warmup)
  void visit(OptionVisitor& v);
};

struct CheckpointSection {
  int64_t every = 0;  ///< steps; 0 = no periodic checkpoints
  int64_t keep = 3;
  std::string dir;    ///< "" = "<output_dir>-checkpoints"
  void visit(OptionVisitor& v);
};

/// (added) [tracking]: an MLflow file store and the HTML report.
struct TrackingSection {
  std::string mlflow;               ///< directory of an MLflow file store; empty = no MLflow tracking
  std::string experiment = "graft";  ///< MLflow experiment name
  bool report = true;               ///< write report.html into the output directory
  std::string run_name;             ///< MLflow run name; "" = run.name
  void visit(OptionVisitor& v);
};

/// (added) [data]: feature cache and featurization threads.
struct DataSection {
  bool cache = true;        ///< cache featurized data sets on disk
  std::string cache_dir;    ///< "" = $GRAFT_CACHE_DIR, else ~/.cache/graft/features
  int64_t threads = 0;      ///< featurization threads; 0 = available cores
  void visit(OptionVisitor& v);
};

/// (added) [cross_validation]: k-fold (optionally stratified) training runs and a holdout.
struct CrossValidationSection {
  int64_t folds = 0;        ///< >= 2 runs k-fold cross-validation; 0 = off
  bool stratified = false;  ///< keep each fold's label distribution
  double holdout = 0.0;     ///< fraction of train held out as a fixed test set (when no test file)
  void visit(OptionVisitor& v);
};

/// (added by the engine) [demo]: what `graft train` does after saving the model. Read it like
/// the other sections (the reader must accept the "demo" section name).
struct DemoSection {
  /// Texts run through the saved (reloaded) model; one prediction line each is printed.
  std::vector<std::string> predict;
  void visit(OptionVisitor& v) {
    v.optional("predict", predict, "texts to classify with the saved model after training (printed to stdout)");
  }
};

struct Recipe {
  std::string path;      ///< the recipe file
  std::string base_dir;  ///< its directory: relative paths resolve against it
  Value raw;             ///< the parsed TOML (after --set overrides)
  RunSection run;
  LanguageModelSection language_model;
  TokenizerSection tokenizer;
  std::vector<TaskSection> tasks;
  TrainingSection training;
  OptimizerSection optimizer;
  ScheduleSection schedule;
  CheckpointSection checkpoint;
  TrackingSection tracking;  ///< (added)
  DataSection data;          ///< (added) [data]
  CrossValidationSection cross_validation;  ///< (added) [cross_validation]
  DemoSection demo;          ///< (added) [demo]
  std::vector<std::string> plugin_paths;  ///< [plugins] paths
  std::vector<std::string> plugin_require;
};

/// Parses TOML text into a Value whose nodes carry file:line:col. ConfigError on syntax errors.
Value parse_toml(const std::string& text, const std::string& source);
Value read_toml_file(const std::string& path);
/// TOML text for a Value table (for resolved_recipe.toml, graft.toml).
std::string to_toml(const Value& table);
/// Applies "--set a.b.c=value" (value parsed as TOML: numbers, booleans, strings, arrays;
/// bare words become strings). ConfigError on a malformed assignment.
void apply_override(Value& root, const std::string& assignment);

/// Reads, overrides, validates against `registry`. Throws ConfigError listing every problem
/// ("recipe <file> has N problems\n  file:line:col  dotted.key: message ...").
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides, Registry& registry);
/// The recipe with every default filled in (and plugin ids/versions under [plugins]).
Value resolved_recipe(const Recipe& recipe, const Registry& registry);

/// (added) The schema of each recipe section, in document order: "run", "plugins",
/// "language_model", "tasks", "training", "training.early_stopping", "optimizer", "schedule",
/// "checkpoint", "tracking" (for `graft recipe docs`).
std::vector<std::pair<std::string, std::vector<FieldSchema>>> recipe_section_schemas();
/// (added) Markdown reference of the recipe sections and of every registered component's
/// options, generated from the schemas (`graft recipe docs`, docs/recipes.md).
std::string recipe_reference_markdown(const Registry& registry);

}  // namespace graft::core
