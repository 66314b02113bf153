#pragma once
// Header-only helpers shared by the in-tree model-family plugins (roberta, electra, distilbert,
// albert, dpr). Not a plugin itself (no CMakeLists.txt): each family compiles these inline
// functions into its own library, so plugins still depend on the SDK only.
#include <graft/error.h>
#include <graft/options.h>
#include <graft/value.h>

#include <string>
#include <utility>
#include <vector>

namespace graft::plugins::common {

/// Writes each visited option into a Value object, so a family's config.json comes from the same
/// visit() list that reads it (no second copy of the key names).
class ConfigWriter : public OptionVisitor {
 public:
  explicit ConfigWriter(Value& out) : out_(out) {}
  void field(const FieldMeta& m, bool& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, int64_t& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, double& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::string& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<std::string>& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<int64_t>& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, std::vector<double>& v) override { out_.set(m.key, Value(v)); }
  void field(const FieldMeta& m, Value& v) override {
    if (!v.is_null()) out_.set(m.key, v);
  }

 private:
  Value& out_;
};

/// config.json of a family: the original keys (unknown HF keys survive a save), then every
/// option of `config`, `model_type` and `architectures` = [architecture].
template <class Config>
Value write_hf_config(const Value& original, Config config, const std::string& model_type,
                      const std::string& architecture) {
  Value cfg = original.is_object() ? original : Value::object();
  cfg.set("architectures", Value(Value::Array{Value(architecture)}));
  cfg.set("model_type", Value(model_type));
  ConfigWriter w(cfg);
  config.visit(w);
  return cfg;
}

/// The names `hidden_act` accepts (kept equal to graft::nn::activation_names()).
inline std::vector<std::string> activation_choices() {
  return {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh"};
}

}  // namespace graft::plugins::common
