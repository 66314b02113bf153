#pragma once
// The three OptionVisitor implementations that make Options::visit the single source of truth:
// reading a Value table (with validation), writing a Value table (every default filled in),
// and describing the schema (docs, `graft plugins info`).
#include <graft/options.h>
#include <graft/value.h>

#include <string>
#include <vector>

namespace graft::core {

struct ReadMode {
  /// Keys present in the table but not visited are errors ("unknown key 'dropuot'; did you mean
  /// 'dropout'?") unless listed here (e.g. "type") or `allow_unknown` (HF config.json files).
  std::vector<std::string> extra_keys;
  bool allow_unknown = false;
};

/// Fills `options` from `table`; every problem goes to `diag` (type mismatch with expected vs
/// actual, missing required key, validator failures, unknown keys, then options.check()).
void read_options(OptionsBase& options, const Value& table, Diagnostics& diag, const ReadMode& mode = {});
/// Every field with its current value (defaults included), in visit order.
Value write_options(OptionsBase& options);

struct FieldSchema {
  std::string key;
  std::string type;      ///< "boolean", "integer", "float", "string", "array of strings", ...
  std::string doc;
  bool required = false;
  Value default_value;   ///< as the default-constructed options hold it
  Check check;
};
std::vector<FieldSchema> describe_options(OptionsBase& options);

}  // namespace graft::core
