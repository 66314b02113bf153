// Out-of-line key functions of every polymorphic SDK type (typeinfo lives here, once).
#include <graft/error.h>
#include <graft/language_model.h>
#include <graft/metric.h>
#include <graft/options.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>

namespace graft {

Error::Error(const std::string& msg) : std::runtime_error(msg) {}
Error::~Error() = default;
ConfigError::ConfigError(const std::string& msg) : Error(msg) {}
ConfigError::~ConfigError() = default;
DataError::DataError(const std::string& msg) : Error(msg) {}
DataError::~DataError() = default;
FormatError::FormatError(const std::string& msg) : Error(msg) {}
FormatError::~FormatError() = default;
PluginError::PluginError(const std::string& msg) : Error(msg) {}
PluginError::~PluginError() = default;

Tokenizer::~Tokenizer() = default;
Processor::~Processor() = default;
LanguageModel::~LanguageModel() = default;
PredictionHead::~PredictionHead() = default;
Metric::~Metric() = default;
Registrar::~Registrar() = default;
OptionVisitor::~OptionVisitor() = default;
OptionsBase::~OptionsBase() = default;

Encoding Tokenizer::encode_one(const TextInput& input, const EncodeOptions& options) const {
  EncodeOptions o = options;
  o.return_overflowing = false;
  auto all = encode(input, o);
  if (all.empty()) throw Error("tokenizer returned no encoding");
  return std::move(all.front());
}

const char* kind_name(ComponentKind k) {
  switch (k) {
    case ComponentKind::tokenizer: return "tokenizer";
    case ComponentKind::processor: return "processor";
    case ComponentKind::language_model: return "language_model";
    case ComponentKind::head: return "head";
    case ComponentKind::metric: return "metric";
  }
  return "?";
}

}  // namespace graft
