#pragma once
// Loading and saving Hugging Face model directories: config.json → the family's LanguageModel
// (through the registry), weights → StateDict → module, and back to config.json +
// model.safetensors.
#include <graft/core/registry.h>
#include <graft/core/weights.h>
#include <graft/language_model.h>
#include <graft/prediction_head.h>
#include <graft/value.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace graft::core {

struct LoadedModel {
  std::string dir;
  Value config;                            ///< the whole config.json
  std::string model_type;                  ///< config.json model_type ("bert")
  std::string registry_name;               ///< the language model entry used ("bert")
  std::vector<std::string> architectures;  ///< config.json architectures (may be empty)
  std::shared_ptr<LanguageModel> model;    ///< weights loaded, in eval() mode
  StateDict state_dict;                    ///< every tensor of the checkpoint (legacy names renamed)
  std::string weights_file;                ///< the file the weights came from
  LoadReport report;                       ///< of the language model load (head keys show as unexpected)
  /// The HF architecture suffix of architectures[0] after the family stem
  /// ("BertForSequenceClassification" → "ForSequenceClassification"; "BertModel" → "Model"), or "".
  std::string architecture_suffix() const;
};

struct LoadPretrainedOptions {
  /// Registry name of the language model; empty = from config.json model_type.
  std::string type;
  /// Keys merged over config.json before the model is built (e.g. dropout overrides).
  Value config_overrides;
  /// A specific weights file (e.g. pytorch_model.bin when model.safetensors is also there);
  /// empty = find_weights_file(dir).
  std::string weights_file;
};

/// Reads `<dir>/config.json` and the weights (find_weights_file), builds the family from the
/// registry, loads the encoder (trying the base_model_prefix and bare keys), and returns
/// everything. FormatError names config.json and the key for an unusable config, the weights
/// file and the tensors for missing/mis-shaped weights.
LoadedModel load_pretrained(const std::string& dir, Registry& registry, const LoadPretrainedOptions& options = {});

/// id2label {"0": "a", "1": "b"} of a config.json → ["a", "b"]; empty when absent. FormatError
/// (naming the config's location) when keys are not the integers 0..n-1 or values not strings.
std::vector<std::string> labels_from_id2label(const Value& config);

/// For a *For<Task> checkpoint (architectures[0]) whose suffix a registered head loads
/// (Registry::head_for_hf_suffix): that head, built with default options and labels from
/// id2label, its weights loaded (bare keys, e.g. "classifier.weight") from `loaded.state_dict`,
/// in eval() mode. nullptr for base models or when no plugin provides the head. FormatError
/// naming the weights file when the head's tensors are missing or mis-shaped.
std::shared_ptr<PredictionHead> load_hf_head(const LoadedModel& loaded, Registry& registry,
                                             const std::string& task = "default");

/// A freshly initialised (init_weights) language model from a config table: `type` names the
/// registry entry; empty = from the table's `model_type`. ConfigError for unknown types,
/// FormatError (naming `config.location()`) for invalid keys.
std::shared_ptr<LanguageModel> build_from_config(const Value& config, const std::string& type, Registry& registry);

struct SaveOptions {
  /// Extra tensors (e.g. a head's "classifier.weight"), saved under exactly these names.
  StateDict extra_tensors;
  /// Keys merged over the model's hf_config() (architectures, id2label, ...).
  Value extra_config;
  /// Store the encoder under "<base_model_prefix>." (as HF *For<Task> checkpoints do).
  /// Default: when there are extra tensors.
  std::optional<bool> prefix_base_model;
};

/// Writes `<dir>/config.json` and `<dir>/model.safetensors` (each atomically; the directory is
/// created). A reload with load_pretrained gives bit-identical weights.
void save_pretrained(const std::string& dir, const LanguageModel& model, const SaveOptions& options = {});

}  // namespace graft::core
