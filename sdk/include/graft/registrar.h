#pragma once
// What a plugin registers. Core implements Registrar; a plugin receives it only during its
// registration call and never keeps it.
#include <graft/export.h>
#include <graft/language_model.h>
#include <graft/metric.h>
#include <graft/options.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>
#include <graft/tokenizer.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace graft {

enum class ComponentKind { tokenizer, processor, language_model, head, metric };
GRAFT_SDK_API const char* kind_name(ComponentKind k);  ///< "tokenizer", "processor", ...

struct ProcessorContext {
  std::string base_dir;  ///< directory relative data paths resolve against
};
struct MetricContext {};
struct TokenizerContext {
  std::string model_dir;  ///< HF model directory with the tokenizer files
};

template <class Interface, class Context>
struct ComponentEntry {
  std::string name;                  ///< recipe `type = "<name>"`; permanent snake_case
  std::string summary;               ///< one line
  std::vector<std::string> aliases;  ///< old names still accepted
  std::function<std::unique_ptr<OptionsBase>()> make_options;
  std::function<std::shared_ptr<Interface>(const OptionsBase&, const Context&)> make;
  /// language_model: config.json `model_type` values served ("bert").
  /// head: HF architecture suffixes it loads ("ForSequenceClassification").
  std::vector<std::string> hf_names;
};

using LanguageModelEntry = ComponentEntry<LanguageModel, LanguageModelContext>;
using HeadEntry = ComponentEntry<PredictionHead, HeadContext>;
using ProcessorEntry = ComponentEntry<Processor, ProcessorContext>;
using MetricEntry = ComponentEntry<Metric, MetricContext>;
using TokenizerEntry = ComponentEntry<Tokenizer, TokenizerContext>;

class GRAFT_SDK_API Registrar {
 public:
  virtual ~Registrar();
  virtual void add(LanguageModelEntry e) = 0;
  virtual void add(HeadEntry e) = 0;
  virtual void add(ProcessorEntry e) = 0;
  virtual void add(MetricEntry e) = 0;
  virtual void add(TokenizerEntry e) = 0;

  /// T is constructed as T(const Options&, const Context&).
  template <class T, class Options>
  void language_model(std::string name, std::string summary, std::vector<std::string> model_types,
                      std::vector<std::string> aliases = {}) {
    add(entry<LanguageModel, LanguageModelContext, T, Options>(std::move(name), std::move(summary),
                                                             std::move(aliases), std::move(model_types)));
  }
  template <class T, class Options>
  void head(std::string name, std::string summary, std::vector<std::string> hf_suffixes = {},
            std::vector<std::string> aliases = {}) {
    add(entry<PredictionHead, HeadContext, T, Options>(std::move(name), std::move(summary), std::move(aliases),
                                                      std::move(hf_suffixes)));
  }
  template <class T, class Options>
  void processor(std::string name, std::string summary, std::vector<std::string> aliases = {}) {
    add(entry<Processor, ProcessorContext, T, Options>(std::move(name), std::move(summary), std::move(aliases), {}));
  }
  template <class T, class Options = NoOptions>
  void metric(std::string name, std::string summary, std::vector<std::string> aliases = {}) {
    add(entry<Metric, MetricContext, T, Options>(std::move(name), std::move(summary), std::move(aliases), {}));
  }
  template <class T, class Options>
  void tokenizer(std::string name, std::string summary, std::vector<std::string> aliases = {}) {
    add(entry<Tokenizer, TokenizerContext, T, Options>(std::move(name), std::move(summary), std::move(aliases), {}));
  }

 private:
  template <class I, class Ctx, class T, class Options>
  static ComponentEntry<I, Ctx> entry(std::string name, std::string summary, std::vector<std::string> aliases,
                                      std::vector<std::string> hf_names) {
    ComponentEntry<I, Ctx> e;
    e.name = std::move(name);
    e.summary = std::move(summary);
    e.aliases = std::move(aliases);
    e.hf_names = std::move(hf_names);
    e.make_options = [] { return std::make_unique<OptionsHolder<Options>>(); };
    e.make = [](const OptionsBase& o, const Ctx& ctx) -> std::shared_ptr<I> {
      const auto& opts = static_cast<const OptionsHolder<Options>&>(o).value;
      if constexpr (std::is_constructible_v<T, const Options&, const Ctx&>)
        return std::make_shared<T>(opts, ctx);
      else
        return std::make_shared<T>(opts);
    };
    return e;
  }
};

}  // namespace graft
