// HF model directories ↔ LanguageModel.
#include <graft/core/hf_heads.h>
#include <graft/core/json.h>
#include <graft/core/model_loader.h>
#include <graft/core/options_io.h>
#include <graft/error.h>
#include <graft/log.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

struct Built {
  std::shared_ptr<LanguageModel> model;
  std::string registry_name;
};

Built build(const Value& config, const std::string& type, Registry& registry, const std::string& where) {
  const Registered<LanguageModelEntry>* entry = nullptr;
  if (!type.empty()) {
    entry = &registry.language_model(type);
  } else {
    const Value* mt = config.find("model_type");
    if (!mt) throw FormatError(cat(where, ": missing key 'model_type' (needed to choose the model family)"));
    if (!mt->is_string()) throw FormatError(cat(where, ": key 'model_type' must be a string, found ", mt->type_name()));
    try {
      entry = &registry.language_model_for_model_type(mt->as_string());
    } catch (const ConfigError& e) {
      throw ConfigError(cat(where, ": ", e.what()));
    }
  }
  auto options = entry->entry.make_options();
  Diagnostics diag;
  read_options(*options, config, diag, ReadMode{{}, true});
  if (!diag.ok())
    throw FormatError(cat(where, ": ", diag.count(), " problem(s) in the ", entry->entry.name, " configuration:\n", diag.format()));
  LanguageModelContext ctx;
  ctx.hf_config = config;
  auto model = entry->entry.make(*options, ctx);
  if (!model) throw PluginError(cat("language model '", entry->entry.name, "' (", entry->plugin_file, ") returned no model"));
  return Built{std::move(model), entry->entry.name};
}

}  // namespace

std::string LoadedModel::architecture_suffix() const {
  if (architectures.empty()) return {};
  const std::string& a = architectures.front();
  if (model) {
    const std::string stem = model->architecture_stem();
    if (!stem.empty() && a.rfind(stem, 0) == 0 && a.size() > stem.size()) return a.substr(stem.size());
  }
  auto pos = a.find("For");
  if (pos != std::string::npos) return a.substr(pos);
  if (a.size() >= 5 && a.compare(a.size() - 5, 5, "Model") == 0) return "Model";
  return {};
}

LoadedModel load_pretrained(const std::string& dir, Registry& registry, const LoadPretrainedOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw FormatError(cat(dir, ": not a model directory (expected config.json and weights)"));
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::is_regular_file(config_path, ec)) throw FormatError(cat(config_path, ": no such file (every HF model directory has one)"));

  LoadedModel out;
  out.dir = dir;
  out.config = read_json_file(config_path);
  if (!out.config.is_object()) throw FormatError(cat(config_path, ": expected a JSON object, found ", out.config.type_name()));
  if (options.config_overrides.is_object())
    for (const auto& [k, v] : options.config_overrides.as_object()) out.config.set(k, v);
  out.model_type = out.config.get_string("model_type", "");
  if (const Value* arch = out.config.find("architectures"); arch && arch->is_array())
    for (const auto& a : arch->as_array())
      if (a.is_string()) out.architectures.push_back(a.as_string());

  Built b = build(out.config, options.type, registry, config_path);
  out.model = b.model;
  out.registry_name = b.registry_name;
  // HF-style initialisation first, so parameters a checkpoint may lack (a pooler) are sane.
  out.model->init_weights();

  out.weights_file = options.weights_file.empty() ? find_weights_file(dir) : options.weights_file;
  out.state_dict = read_weights(out.weights_file);
  if (size_t n = rename_legacy_keys(out.state_dict))
    log::info(out.weights_file, ": renamed ", n, " legacy gamma/beta tensor names to weight/bias");

  LoadOptions lo;
  lo.prefixes = {out.model->base_model_prefix()};
  lo.ignored_keys = out.model->ignored_checkpoint_keys();
  lo.optional_prefixes = out.model->optional_parameter_prefixes();
  auto model = out.model;
  lo.map_key = [model](const std::string& k) { return model->map_checkpoint_key(k); };
  out.report = load_into(*out.model, out.state_dict, lo);
  if (!out.report.missing.empty())
    log::warn(out.weights_file, ": ", out.report.missing.size(), " parameter(s) not in the checkpoint, kept initialised: ",
              [&] {
                std::string s;
                for (const auto& m : out.report.missing) s += (s.empty() ? "" : ", ") + m;
                return s;
              }());
  out.model->eval();
  return out;
}

std::vector<std::string> labels_from_id2label(const Value& config) {
  const Value* m = config.find("id2label");
  if (!m || m->is_null()) return {};
  const std::string where = m->location().str().empty() ? std::string("config") : m->location().str();
  if (!m->is_object()) throw FormatError(cat(where, ": key 'id2label' must be an object {\"0\": label, ...}"));
  std::vector<std::string> labels(m->size());
  std::vector<bool> seen(m->size(), false);
  for (const auto& [k, v] : m->as_object()) {
    size_t used = 0;
    long long idx = -1;
    try {
      idx = std::stoll(k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != k.size() || idx < 0 || idx >= static_cast<long long>(labels.size()) || seen[idx])
      throw FormatError(cat(where, ": id2label key '", k, "' is not one of the indices 0..", labels.size() - 1));
    if (!v.is_string()) throw FormatError(cat(where, ": id2label['", k, "'] must be a string"));
    labels[idx] = v.as_string();
    seen[idx] = true;
  }
  return labels;
}

std::shared_ptr<PredictionHead> load_hf_head(const LoadedModel& loaded, Registry& registry, const std::string& task) {
  const std::string suffix = loaded.architecture_suffix();
  if (suffix.empty() || suffix == "Model") return nullptr;
  const auto* entry = head_for_hf_checkpoint(registry, suffix, loaded.config);
  if (!entry) return nullptr;
  auto options = entry->entry.make_options();
  Diagnostics diag;
  read_options(*options, Value::object(), diag, ReadMode{{}, true});
  if (!diag.ok()) throw ConfigError(cat("head '", entry->entry.name, "' default options are invalid:\n", diag.format()));
  HeadContext hc;
  hc.task = task;
  hc.hidden_size = loaded.model->hidden_size();
  hc.model_type = loaded.model_type;
  hc.labels = labels_from_id2label(loaded.config);
  hc.hf_config = loaded.config;
  auto head = entry->entry.make(*options, hc);
  if (!head) throw PluginError(cat("head '", entry->entry.name, "' (", entry->plugin_file, ") returned no head"));
  load_into(*head, loaded.state_dict, LoadOptions{});
  head->eval();
  return head;
}

std::shared_ptr<LanguageModel> build_from_config(const Value& config, const std::string& type, Registry& registry) {
  if (!config.is_null() && !config.is_object())
    throw FormatError(cat(config.location().str().empty() ? std::string("model config") : config.location().str(),
                          ": expected a table of config.json keys, found ", config.type_name()));
  const std::string where = config.location().str().empty() ? std::string("model config") : config.location().str();
  Built b = build(config.is_null() ? Value::object() : config, type, registry, where);
  b.model->init_weights();
  return b.model;
}

void save_pretrained(const std::string& dir, const LanguageModel& model, const SaveOptions& options) {
  Value config = model.hf_config();
  if (!config.is_object()) throw Error(cat("hf_config() of ", model.architecture_stem(), " is not an object"));
  if (options.extra_config.is_object())
    for (const auto& [k, v] : options.extra_config.as_object()) config.set(k, v);
  const bool prefix = options.prefix_base_model.value_or(!options.extra_tensors.empty());
  StateDict sd = state_dict_of(model, prefix ? model.base_model_prefix() : "");
  for (const auto& [k, t] : options.extra_tensors) {
    if (sd.contains(k)) throw Error(cat("save_pretrained: extra tensor '", k, "' collides with a language model tensor"));
    sd.set(k, t);
  }
  fs::create_directories(dir);
  write_safetensors((fs::path(dir) / "model.safetensors").string(), sd);
  write_json_file((fs::path(dir) / "config.json").string(), config);
}

}  // namespace graft::core
