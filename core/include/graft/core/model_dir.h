#pragma once
// Model directories: building a model from a recipe, saving it (HF-compatible config.json +
// model.safetensors + tokenizer files + graft.toml + resolved_recipe.toml, written atomically)
// and loading it back — or loading a plain HF *For<Task> checkpoint without graft.toml.
#include <graft/core/adaptive_model.h>
#include <graft/core/data_silo.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/processor.h>
#include <graft/tokenizer.h>
#include <graft/value.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft::core {

/// One task of a model as graft.toml stores it.
struct TaskSpec {
  std::string name;
  std::string head_type;
  Value head_options = Value::object();       ///< the head's options table (every field)
  std::string processor_type;
  Value processor_options = Value::object();  ///< the processor's options table (every field)
  std::vector<std::string> labels;
  std::vector<std::string> metrics;
  double loss_weight = 1.0;
};

/// A model ready to train, evaluate or predict.
struct ModelBundle {
  std::shared_ptr<AdaptiveModel> model;
  std::shared_ptr<Tokenizer> tokenizer;
  std::vector<TaskSpec> tasks;
  std::map<std::string, std::shared_ptr<Processor>> processors;  ///< task → processor
  std::string lm_type;  ///< registry name of the language model ("bert")
  std::string dir;      ///< where it was loaded from ("" when built from a recipe)
  /// Why `tokenizer` is null (a plain HF checkpoint without tokenizer files); "" otherwise.
  std::string tokenizer_error;
  /// The tokenizer, or FormatError with tokenizer_error.
  const Tokenizer& require_tokenizer() const;
  /// The task named `name`; "" = the only task (ConfigError when there are several, naming them).
  const TaskSpec& task(const std::string& name = "") const;
  Processor& processor(const std::string& task) const;
};

/// The recipe's language model directory (checkpoint resolved against the recipe dir), or ""
/// for a from-scratch model. ConfigError when the checkpoint is neither a directory nor found.
std::string checkpoint_dir(const Recipe& recipe);

/// The tokenizer of a recipe: [tokenizer] type + options (relative files resolve against the
/// recipe dir), else the checkpoint's files.
std::shared_ptr<Tokenizer> tokenizer_from_recipe(const Recipe& recipe, Registry& registry);

struct RecipeBuild {
  ModelBundle bundle;
  std::unique_ptr<DataSilo> silo;
};

/// Everything a training run needs, in order: tokenizer, processors → DataSilo (reads, labels,
/// featurizes), language model (pretrained or from config, seeded init), heads (labels from
/// the processors, class_counts from the training statistics). Metric names are checked.
RecipeBuild build_from_recipe(const Recipe& recipe, Registry& registry, const SiloOptions& silo_options);

/// Writes the model directory atomically (temp dir + rename over `dir`). `resolved_recipe`
/// (an object) is written as resolved_recipe.toml when not null.
void save_model_dir(const ModelBundle& bundle, const std::string& dir, const Value& resolved_recipe = Value());

/// Loads a directory written by save_model_dir, or a plain HF *For<Task> checkpoint (head from
/// registry.head_for_hf_suffix, labels from id2label, the head plugin's processor with default
/// options). Moves the model to `device`, eval mode. FormatError/ConfigError naming the file.
ModelBundle load_model_dir(const std::string& dir, Registry& registry, const torch::Device& device = torch::kCPU);

}  // namespace graft::core
