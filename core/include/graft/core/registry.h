#pragma once
// The registry: typed tables of components registered by plugins (and by core itself for
// tokenizers). Filled single-threaded at start-up by the plugin host, then frozen and read-only.
#include <graft/registrar.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft::core {

/// One registered component, with where it came from.
template <class EntryT>
struct Registered {
  EntryT entry;
  std::string plugin_id;    ///< descriptor id, "core" for built-ins
  std::string plugin_file;  ///< path of the .so ("" for core)
};

/// What `graft plugins list` shows for each file found on the search path.
struct PluginRecord {
  std::string file;
  std::string id;       ///< empty when the descriptor could not be read
  std::string version;
  std::string kind;
  std::string summary;
  bool loaded = false;
  std::string reason;   ///< why it was skipped (empty when loaded)
  std::vector<std::string> components;  ///< "head:text_classification", ...
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The process-wide registry: core built-ins registered, plugins loaded from the default
  /// search path (GRAFT_PLUGIN_PATH, the plugin dir beside the executable / library) plus
  /// `extra_paths` on first call. Later calls with new paths load those too.
  static Registry& global(const std::vector<std::string>& extra_paths = {});

  /// Loads every libgraft_*.so in `dir` (or the file itself). Failures are recorded in
  /// plugins(), never thrown, except duplicate names (PluginError naming both files).
  void load_directory(const std::string& dir_or_file);
  /// Loads one plugin file; throws PluginError with the exact reason (used by tests and by
  /// recipes that require a plugin).
  void load_plugin(const std::string& file);
  /// Registers components from an in-process function (core built-ins, tests).
  void register_builtin(const std::string& id, void (*fn)(Registrar&));

  const std::vector<PluginRecord>& plugins() const;
  /// Directories searched by global(), in order.
  std::vector<std::string> search_path() const;

  // Lookups throw ConfigError("no head named 'x'; did you mean 'y'? known heads: ...
  // plugin search path: ...") when absent. Aliases resolve (logged once).
  const Registered<LanguageModelEntry>& language_model(const std::string& name) const;
  const Registered<HeadEntry>& head(const std::string& name) const;
  const Registered<ProcessorEntry>& processor(const std::string& name) const;
  const Registered<MetricEntry>& metric(const std::string& name) const;
  const Registered<TokenizerEntry>& tokenizer(const std::string& name) const;
  /// nullptr when absent (no throw).
  const Registered<LanguageModelEntry>* find_language_model(const std::string& name) const;
  const Registered<HeadEntry>* find_head(const std::string& name) const;
  const Registered<ProcessorEntry>* find_processor(const std::string& name) const;
  const Registered<MetricEntry>* find_metric(const std::string& name) const;
  const Registered<TokenizerEntry>* find_tokenizer(const std::string& name) const;
  /// The language model serving config.json `model_type` (entry.hf_names); ConfigError if none.
  const Registered<LanguageModelEntry>& language_model_for_model_type(const std::string& model_type) const;
  /// The head loading HF architecture suffix ("ForSequenceClassification"); nullptr if none.
  const Registered<HeadEntry>* head_for_hf_suffix(const std::string& suffix) const;

  /// Sorted names per kind (for docs, listings, suggestions).
  std::vector<std::string> names(ComponentKind kind) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Closest candidate by edit distance (≤ max(2, len/3)), or "" when nothing is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace graft::core
