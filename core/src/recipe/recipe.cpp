// load_recipe: TOML → typed, validated Recipe, every problem reported at once; and the resolved
// recipe (all defaults filled in, plugin ids and versions).
#include <graft/core/data_root.h>
#include <graft/core/files.h>
#include <graft/core/options_io.h>
#include <graft/core/recipe.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace graft::core {
namespace {

constexpr int64_t kRecipeVersion = 1;

/// Adapts a plain section struct (visit only) to OptionsBase.
template <class T>
class SectionRef final : public OptionsBase {
 public:
  explicit SectionRef(T& t) : t_(t) {}
  void visit(OptionVisitor& v) override { t_.visit(v); }
  void check(Diagnostics&) const override {}

 private:
  T& t_;
};
template <class T>
void read_section(T& section, const Value* table, Diagnostics scope) {
  SectionRef<T> ref(section);
  read_options(ref, table ? *table : Value::object(), scope);
}
template <class T>
Value write_section(T& section) {
  SectionRef<T> ref(section);
  return write_options(ref);
}

struct PluginsFields {
  std::vector<std::string> paths;
  std::vector<std::string> require;
  Value versions;
  void visit(OptionVisitor& v) {
    v.optional("paths", paths, "extra plugin directories or files, relative to the recipe");
    v.optional("require", require, "plugin ids that must be loaded");
    v.optional("versions", versions, "written by graft into resolved recipes: plugin id = version used");
  }
};

struct TaskFields {
  std::string name;
  double loss_weight = 1.0;
  Value processor, head;
  std::vector<std::string> metrics;
  void visit(OptionVisitor& v) {
    v.required("name", name, "task name, unique within the recipe");
    v.optional("loss_weight", loss_weight, "weight of this task's loss in the sum", at_least(0.0));
    v.required("processor", processor, "table: type = \"<processor>\" and its options");
    v.required("head", head, "table: type = \"<head>\" and its options");
    v.optional("metrics", metrics, "metric names evaluated on this task");
  }
};

struct EarlyStoppingFields {
  std::string metric;
  std::string mode = "max";
  int64_t patience = 3;
  double min_delta = 0.0;
  bool restore_best = true;
  void visit(OptionVisitor& v) {
    v.required("metric", metric, "\"task/metric\" watched on the dev set");
    v.optional("mode", mode, "whether larger or smaller is better", one_of({"max", "min"}));
    v.optional("patience", patience, "evaluations without improvement before stopping", at_least(1));
    v.optional("min_delta", min_delta, "smallest change that counts as an improvement", at_least(0.0));
    v.optional("restore_best", restore_best, "restore the best weights at the end");
  }
};

const char* kSections[] = {"graft_recipe", "run", "plugins", "language_model", "tokenizer",
                           "tasks", "training", "optimizer", "schedule", "checkpoint", "tracking", "demo",
                           "data", "cross_validation"};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

/// "no head named 'x'; did you mean 'y'? (known heads: a, b)"
std::string unknown_component(const char* kind, const char* plural, const std::string& name,
                              const std::vector<std::string>& known) {
  std::string msg = cat("no ", kind, " named '", name, "'");
  std::string guess = did_you_mean(name, known);
  if (!guess.empty()) msg += cat("; did you mean '", guess, "'?");
  msg += cat(" (known ", plural, ": ", known.empty() ? "none" : join(known, ", "), ")");
  return msg;
}

/// A component table {type = "...", options...}: looks the type up, reads the options.
template <class EntryT>
std::unique_ptr<OptionsBase> read_component(const Value& table, Diagnostics scope, const char* kind,
                                            const char* plural, const std::vector<std::string>& known,
                                            const Registered<EntryT>* (Registry::*find)(const std::string&) const,
                                            const Registry& registry, std::string& type_out, bool& unknown_type) {
  if (!table.is_object()) {
    scope.error("", cat("expected a table with `type = \"<", kind, ">\"`, got ", table.type_name()), table.location());
    return nullptr;
  }
  const Value* type = table.find("type");
  if (!type) {
    scope.error("type", cat("missing required key (one of: ", known.empty() ? "none registered" : join(known, ", "), ")"),
                table.location());
    return nullptr;
  }
  if (!type->is_string()) {
    scope.error("type", cat("expected string, got ", type->type_name()), type->location());
    return nullptr;
  }
  const auto* reg = (registry.*find)(type->as_string());
  if (!reg) {
    scope.error("type", unknown_component(kind, plural, type->as_string(), known), type->location());
    unknown_type = true;
    return nullptr;
  }
  type_out = reg->entry.name;  // aliases resolve to the current name
  auto options = reg->entry.make_options();
  read_options(*options, table, scope, ReadMode{{"type"}, false});
  return options;
}

Value without_type(const Value& table) {
  Value out = table;
  if (out.is_object()) out.erase("type");
  return out;
}

bool looks_like_path(const std::string& s) {
  return s.rfind("./", 0) == 0 || s.rfind("../", 0) == 0 || s.rfind("/", 0) == 0 || s.rfind("~", 0) == 0;
}

}  // namespace

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides, Registry& registry) {
  Recipe r;
  r.path = path;
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  r.base_dir = abs.parent_path().lexically_normal().string();
  r.raw = read_toml_file(path);
  for (const auto& o : overrides) apply_override(r.raw, o);
  const Value& raw = r.raw;

  // The format version comes first: a recipe of another version may mean anything else.
  const Value* version = raw.find("graft_recipe");
  SourceLocation file_loc{path, 0, 0};
  if (!version)
    throw ConfigError(cat(path, ": missing `graft_recipe = ", kRecipeVersion,
                          "` (the recipe format version) at the top of the file"));
  if (!version->is_int())
    throw ConfigError(cat(version->location().str(), ": graft_recipe: expected integer, got ", version->type_name()));
  if (version->as_int() != kRecipeVersion)
    throw ConfigError(cat(version->location().str(), ": graft_recipe: recipe format version ", version->as_int(),
                          " is not supported; graft ", GRAFT_VERSION, " reads version ", kRecipeVersion));

  Diagnostics diag;
  bool unknown_type = false;
  expand_data_root(r.raw, r.base_dir, diag);  // data paths under --data-dir / $GRAFT_DATA

  // Unknown top-level keys.
  std::vector<std::string> sections(std::begin(kSections), std::end(kSections));
  for (const auto& [key, value] : raw.as_object()) {
    if (std::find(sections.begin(), sections.end(), key) != sections.end()) continue;
    std::vector<std::string> sorted = sections;
    std::sort(sorted.begin(), sorted.end());
    std::string msg = cat("unknown section '", key, "'");
    std::string guess = did_you_mean(key, sorted);
    if (!guess.empty()) msg += cat("; did you mean '", guess, "'?");
    msg += cat(" (known: ", join(sorted, ", "), ")");
    diag.error(key, msg, value.location());
  }
  auto section = [&](const char* name) -> const Value* {
    const Value* v = raw.find(name);
    if (v && !v->is_object()) {
      diag.error(name, cat("expected a table, got ", v->type_name()), v->location());
      return nullptr;
    }
    return v;
  };
  auto scope = [&](const char* name, const Value* v) { return diag.child(name, v ? v->location() : file_loc); };

  // [plugins]: load extra paths before anything is looked up.
  if (const Value* p = section("plugins")) {
    PluginsFields pf;
    read_section(pf, p, scope("plugins", p));
    for (const auto& dir : pf.paths) {
      std::string resolved = resolve_path(r.base_dir, dir);
      r.plugin_paths.push_back(resolved);
      if (!fs::exists(resolved, ec)) {
        diag.child("plugins", p->location()).error("paths", cat("'", resolved, "' does not exist"), p->at("paths").location());
        continue;
      }
      try {
        registry.load_directory(resolved);
      } catch (const PluginError& e) {
        diag.child("plugins", p->location()).error("paths", e.what(), p->at("paths").location());
      }
    }
    r.plugin_require = pf.require;
    for (size_t i = 0; i < pf.require.size(); ++i) {
      const std::string& id = pf.require[i];
      bool loaded = false;
      std::string reason;
      for (const auto& rec : registry.plugins()) {
        if (rec.id != id && fs::path(rec.file).filename() != "libgraft_" + id + ".so") continue;
        if (rec.loaded) loaded = true;
        else reason = rec.reason;
      }
      if (!loaded) {
        std::string msg = cat("plugin '", id, "' is required but not loaded");
        msg += reason.empty() ? cat("; no libgraft_", id, ".so on the plugin search path: ",
                                    join(registry.search_path(), ":"))
                              : cat(": ", reason);
        const Value& req = p->at("require");
        diag.child("plugins", p->location())
            .error(cat("require[", i, "]"), msg,
                   req.is_array() && i < req.size() ? req.as_array()[i].location() : req.location());
      }
    }
  }

  if (const Value* s = section("run")) read_section(r.run, s, scope("run", s));
  {
    static const std::regex device_re("auto|cpu|cuda|cuda:[0-9]+");
    if (!std::regex_match(r.run.device, device_re)) {
      const Value* s = raw.find("run");
      const Value* d = s ? s->find("device") : nullptr;
      diag.child("run", s ? s->location() : file_loc)
          .error("device", cat("expected auto, cpu, cuda or cuda:N, got \"", r.run.device, "\""),
                 d ? d->location() : file_loc);
    }
  }

  if (const Value* s = section("language_model")) {
    auto sc = scope("language_model", s);
    read_section(r.language_model, s, sc);
    auto& lm = r.language_model;
    if (!lm.checkpoint.empty()) {
      std::string resolved = resolve_path(r.base_dir, lm.checkpoint);
      if (looks_like_path(lm.checkpoint) || fs::exists(resolved, ec)) lm.checkpoint = resolved;
    }
    if (!lm.type.empty() && !registry.find_language_model(lm.type)) {
      sc.error("type", unknown_component("language model", "language models", lm.type,
                                         registry.names(ComponentKind::language_model)),
               s->at("type").location());
      unknown_type = true;
    } else if (!lm.type.empty()) {
      lm.type = registry.language_model(lm.type).entry.name;
    }
    if (!lm.config.is_null() && !lm.config.is_object())
      sc.error("config", cat("expected a table, got ", lm.config.type_name()), lm.config.location());
    if (lm.checkpoint.empty() && (lm.type.empty() || lm.config.is_null()))
      sc.error("", "needs `checkpoint` (a model directory or hub id), or `type` and a `config` table to build a "
                   "model from scratch", s->location());
  } else {
    diag.error("language_model", "missing required section [language_model] (at least `checkpoint = \"...\"`)",
               file_loc);
  }

  if (const Value* s = section("tokenizer")) {
    auto sc = scope("tokenizer", s);
    if (s->find("type")) {
      r.tokenizer.parsed = read_component<TokenizerEntry>(*s, sc, "tokenizer", "tokenizers",
                                                          registry.names(ComponentKind::tokenizer),
                                                          &Registry::find_tokenizer, registry, r.tokenizer.type,
                                                          unknown_type);
      r.tokenizer.options = without_type(*s);
    } else if (s->size() > 0) {
      sc.error("type", cat("missing required key: tokenizer options need a `type` (one of: ",
                           join(registry.names(ComponentKind::tokenizer), ", "), ")"),
               s->location());
    }
  }

  // [[tasks]]
  if (const Value* t = raw.find("tasks")) {
    if (!t->is_array() || t->size() == 0 || !std::all_of(t->as_array().begin(), t->as_array().end(),
                                                          [](const Value& e) { return e.is_object(); })) {
      diag.error("tasks", cat("expected one or more [[tasks]] tables, got ", t->is_array() ? "an array of other values" : t->type_name()),
                 t->location());
    } else {
      std::map<std::string, size_t> seen;
      const auto& arr = t->as_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        const Value& tv = arr[i];
        auto sc = diag.child(cat("tasks[", i, "]"), tv.location());
        TaskFields tf;
        SectionRef<TaskFields> ref(tf);
        // processor/head/metrics are checked below with their own messages
        Diagnostics fields = sc;
        read_options(ref, tv, fields);
        TaskSection task;
        task.name = tf.name;
        task.loss_weight = tf.loss_weight;
        if (!tf.name.empty()) {
          if (auto [it, fresh] = seen.emplace(tf.name, i); !fresh)
            sc.error("name", cat("task name '", tf.name, "' is already used by tasks[", it->second, "]"),
                     tv.at("name").location());
          if (tf.name.find_first_of("/ \t") != std::string::npos)
            sc.error("name", cat("task name '", tf.name, "' must not contain '/' or spaces"), tv.at("name").location());
        }
        if (const Value* p = tv.find("processor")) {
          task.processor = read_component<ProcessorEntry>(*p, sc.child("processor", p->location()), "processor",
                                                          "processors", registry.names(ComponentKind::processor),
                                                          &Registry::find_processor, registry, task.processor_type,
                                                          unknown_type);
          task.processor_table = without_type(*p);
        }
        if (const Value* h = tv.find("head")) {
          task.head = read_component<HeadEntry>(*h, sc.child("head", h->location()), "head", "heads",
                                                registry.names(ComponentKind::head), &Registry::find_head, registry,
                                                task.head_type, unknown_type);
          task.head_table = without_type(*h);
        }
        if (const Value* m = tv.find("metrics"); m && m->is_array()) {
          const auto known = registry.names(ComponentKind::metric);
          for (size_t j = 0; j < m->size(); ++j) {
            const Value& mv = m->as_array()[j];
            if (!mv.is_string()) continue;  // reported by read_options
            if (const auto* reg = registry.find_metric(mv.as_string())) {
              task.metrics.push_back(reg->entry.name);
            } else {
              sc.error(cat("metrics[", j, "]"), unknown_component("metric", "metrics", mv.as_string(), known),
                       mv.location());
              unknown_type = true;
            }
          }
        }
        r.tasks.push_back(std::move(task));
      }
    }
  } else {
    diag.error("tasks", "missing [[tasks]]: a recipe needs at least one task (name, processor, head)", file_loc);
  }

  if (const Value* s = section("training")) {
    auto sc = scope("training", s);
    read_section(r.training, s, sc);
    const Value& es = r.training.early_stopping;
    if (!es.is_null()) {
      if (!es.is_object()) {
        sc.error("early_stopping", cat("expected a table, got ", es.type_name()), es.location());
      } else {
        EarlyStoppingFields ef;
        SectionRef<EarlyStoppingFields> ref(ef);
        auto esc = sc.child("early_stopping", es.location());
        size_t before = diag.count();
        read_options(ref, es, esc);
        if (diag.count() == before) {
          // "task/metric" must name a task of this recipe (or the overall "loss")
          auto slash = ef.metric.find('/');
          std::string task = slash == std::string::npos ? "" : ef.metric.substr(0, slash);
          bool ok = ef.metric == "loss" || ef.metric.rfind("dev/", 0) == 0 ||
                    std::any_of(r.tasks.begin(), r.tasks.end(), [&](const TaskSection& t) { return t.name == task; });
          if (!ok) {
            std::vector<std::string> names;
            for (const auto& t : r.tasks) names.push_back(t.name);
            esc.error("metric", cat("\"", ef.metric, "\" does not name a task's metric; expected \"<task>/<metric>\" "
                                    "with a task of this recipe (", names.empty() ? "none" : join(names, ", "), ")"),
                      es.at("metric").location());
          }
          Value filled = write_section(ef);
          filled.with_location(es.location());
          r.training.early_stopping = filled;
        }
      }
    }
  }
  if (const Value* s = section("optimizer")) read_section(r.optimizer, s, scope("optimizer", s));
  if (const Value* s = section("schedule")) read_section(r.schedule, s, scope("schedule", s));
  if (const Value* s = section("checkpoint")) read_section(r.checkpoint, s, scope("checkpoint", s));
  if (const Value* s = section("demo")) read_section(r.demo, s, scope("demo", s));
  if (const Value* s = section("tracking")) {
    read_section(r.tracking, s, scope("tracking", s));
    if (!r.tracking.mlflow.empty()) r.tracking.mlflow = resolve_path(r.base_dir, r.tracking.mlflow);
  }
  if (const Value* s = section("data")) {
    read_section(r.data, s, scope("data", s));
    if (!r.data.cache_dir.empty()) r.data.cache_dir = resolve_path(r.base_dir, r.data.cache_dir);
  }
  if (const Value* s = section("cross_validation")) read_section(r.cross_validation, s, scope("cross_validation", s));

  if (!diag.ok()) {
    std::string msg = cat("recipe ", path, " has ", diag.count(), diag.count() == 1 ? " problem" : " problems", "\n",
                          diag.format());
    if (unknown_type) {
      auto sp = registry.search_path();
      msg += cat("  plugin search path: ", sp.empty() ? "(empty)" : join(sp, ":"), "\n");
      msg += "hint: `graft plugins list` shows every plugin found and why any was skipped\n";
    }
    if (!msg.empty() && msg.back() == '\n') msg.pop_back();
    throw ConfigError(msg);
  }
  return r;
}

Value resolved_recipe(const Recipe& recipe, const Registry& registry) {
  // Non-const copies of the sections: the writer visits through the same non-const visit().
  Recipe& r = const_cast<Recipe&>(recipe);
  Value out = Value::object();
  out.set("graft_recipe", kRecipeVersion);
  out.set("run", write_section(r.run));

  std::map<std::string, std::string> used;  // plugin id -> version
  auto note = [&](const std::string& plugin_id) {
    if (plugin_id.empty()) return;
    std::string version = GRAFT_VERSION;
    for (const auto& rec : registry.plugins())
      if (rec.id == plugin_id && rec.loaded) version = rec.version;
    used[plugin_id] = version;
  };
  {
    Value plugins = Value::object();
    plugins.set("paths", Value(recipe.plugin_paths));
    plugins.set("require", Value(recipe.plugin_require));
    out.set("plugins", plugins);
  }

  Value lm = write_section(r.language_model);
  if (!recipe.language_model.type.empty())
    if (const auto* reg = registry.find_language_model(recipe.language_model.type)) note(reg->plugin_id);
  out.set("language_model", lm);

  if (!recipe.tokenizer.type.empty() && recipe.tokenizer.parsed) {
    Value tok = Value::object();
    tok.set("type", recipe.tokenizer.type);
    Value written = write_options(*recipe.tokenizer.parsed);  // keep the temporary alive for the loop
    for (auto& [k, v] : written.as_object()) tok.set(k, v);
    if (const auto* reg = registry.find_tokenizer(recipe.tokenizer.type)) note(reg->plugin_id);
    out.set("tokenizer", tok);
  }

  Value tasks = Value::array();
  for (const auto& t : recipe.tasks) {
    Value tv = Value::object();
    tv.set("name", t.name);
    tv.set("loss_weight", t.loss_weight);
    if (t.processor) {
      Value p = Value::object();
      p.set("type", t.processor_type);
      Value written = write_options(*t.processor);
      for (auto& [k, v] : written.as_object()) p.set(k, v);
      tv.set("processor", p);
      if (const auto* reg = registry.find_processor(t.processor_type)) note(reg->plugin_id);
    }
    if (t.head) {
      Value h = Value::object();
      h.set("type", t.head_type);
      Value written = write_options(*t.head);
      for (auto& [k, v] : written.as_object()) h.set(k, v);
      tv.set("head", h);
      if (const auto* reg = registry.find_head(t.head_type)) note(reg->plugin_id);
    }
    tv.set("metrics", Value(t.metrics));
    for (const auto& m : t.metrics)
      if (const auto* reg = registry.find_metric(m)) note(reg->plugin_id);
    tasks.push_back(tv);
  }
  out.set("tasks", tasks);
  out.set("training", write_section(r.training));
  out.set("optimizer", write_section(r.optimizer));
  out.set("schedule", write_section(r.schedule));
  out.set("checkpoint", write_section(r.checkpoint));
  out.set("tracking", write_section(r.tracking));
  out.set("data", write_section(r.data));
  if (r.cross_validation.folds > 0 || r.cross_validation.holdout > 0.0)
    out.set("cross_validation", write_section(r.cross_validation));
  if (!r.demo.predict.empty()) out.set("demo", write_section(r.demo));

  Value versions = Value::object();
  versions.set("graft", GRAFT_VERSION);
  for (const auto& [id, v] : used) versions.set(id, v);
  out.find("plugins")->set("versions", versions);
  return out;
}

}  // namespace graft::core

namespace graft::core {

std::vector<std::pair<std::string, std::vector<FieldSchema>>> recipe_section_schemas() {
  std::vector<std::pair<std::string, std::vector<FieldSchema>>> out;
  auto add = [&](const char* name, auto section) {
    SectionRef<decltype(section)> ref(section);
    out.emplace_back(name, describe_options(ref));
  };
  add("run", RunSection{});
  add("plugins", PluginsFields{});
  add("language_model", LanguageModelSection{});
  add("tasks", TaskFields{});
  add("training", TrainingSection{});
  add("training.early_stopping", EarlyStoppingFields{});
  add("optimizer", OptimizerSection{});
  add("schedule", ScheduleSection{});
  add("checkpoint", CheckpointSection{});
  add("tracking", TrackingSection{});
  add("data", DataSection{});
  add("cross_validation", CrossValidationSection{});
  add("demo", DemoSection{});
  return out;
}

namespace {

std::string md_cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string number_md(double d) {
  Value v = (std::floor(d) == d && std::abs(d) < 1e15) ? Value(static_cast<int64_t>(d)) : Value(d);
  return v.dump_json();
}

void options_table(std::string& out, const std::vector<FieldSchema>& fields) {
  if (fields.empty()) {
    out += "No options.\n\n";
    return;
  }
  out += "| key | type | default | description |\n|---|---|---|---|\n";
  for (const auto& f : fields) {
    std::string dflt = f.required ? "**required**" : f.default_value.is_null() ? "—" : "`" + f.default_value.dump_json() + "`";
    std::string doc = f.doc;
    if (!f.check.choices.empty()) doc += cat(doc.empty() ? "" : "; ", "one of: ", join(f.check.choices, ", "));
    if (f.check.min && f.check.max)
      doc += cat(doc.empty() ? "" : "; ", "range [", number_md(*f.check.min), ", ", number_md(*f.check.max), "]");
    else if (f.check.min) doc += cat(doc.empty() ? "" : "; ", ">= ", number_md(*f.check.min));
    else if (f.check.max) doc += cat(doc.empty() ? "" : "; ", "<= ", number_md(*f.check.max));
    out += cat("| `", f.key, "` | ", f.type, " | ", md_cell(dflt), " | ", md_cell(doc), " |\n");
  }
  out += "\n";
}

template <class R>
void component_section(std::string& out, const R& r, const Registry& registry) {
  std::string version;
  for (const auto& rec : registry.plugins())
    if (rec.loaded && rec.id == r.plugin_id) version = rec.version;
  out += cat("### `", r.entry.name, "`\n\n", r.entry.summary, "\n\n");
  out += cat("Plugin: `", r.plugin_id, "`", version.empty() ? (r.plugin_file.empty() ? " (built into graft core)" : "")
                                                             : " " + version, ".");
  if (!r.entry.aliases.empty()) out += cat(" Aliases: ", join(r.entry.aliases, ", "), ".");
  out += "\n\n";
  auto options = r.entry.make_options();
  options_table(out, describe_options(*options));
}

}  // namespace

std::string recipe_reference_markdown(const Registry& registry) {
  std::string out;
  out += "# Recipe reference\n\n";
  out += "<!-- Generated by `graft recipe docs` (tools/gen_recipe_docs.sh) from the option schemas of the recipe "
         "sections and of every registered component. Do not edit by hand. -->\n\n";
  out += cat("A recipe is a TOML file that starts with `graft_recipe = ", kRecipeVersion,
             "`. Every component table names its registry entry with `type = \"<name>\"`; its other keys are that "
             "component's options, listed below. Unknown keys are errors. Relative paths resolve against the "
             "recipe's directory; a data file path of a task's processor that is not found there is looked up under the "
             "data root (`graft train --data-dir DIR`, else the environment variable GRAFT_DATA), and `{data}` in "
             "any string stands for that root (`train = \"{data}/conll2003-en/eng.train\"`), so recipes shipped "
             "with graft stay portable. `graft recipe check RECIPE` validates a recipe; `graft recipe show RECIPE` prints "
             "it with every default filled in; `--set key=value` overrides a key (`training.epochs=2`, "
             "`tasks[0].head.dropout=0.2`).\n\n");
  out += "## Recipe sections\n\n";
  for (const auto& [name, fields] : recipe_section_schemas()) {
    out += name == "tasks" ? "### `[[tasks]]`\n\n" : cat("### `[", name, "]`\n\n");
    if (name == "tasks")
      out += "One table per task (several = multitask). `processor` and `head` are component tables "
             "(`{ type = \"...\", ... }`, see below); `metrics` are metric names.\n\n";
    options_table(out, fields);
    if (name == "language_model") {
      out += "### `[tokenizer]`\n\nOptional: `type = \"<tokenizer>\"` plus that tokenizer's options (see Tokenizers). "
             "Absent = the tokenizer files of the checkpoint.\n\n";
    }
  }
  auto kind_section = [&](const char* title, ComponentKind k, auto find) {
    out += cat("## ", title, "\n\n");
    auto names = registry.names(k);
    if (names.empty()) out += "None registered.\n\n";
    for (const auto& n : names) component_section(out, *(registry.*find)(n), registry);
  };
  kind_section("Language models", ComponentKind::language_model, &Registry::find_language_model);
  kind_section("Tokenizers", ComponentKind::tokenizer, &Registry::find_tokenizer);
  kind_section("Processors", ComponentKind::processor, &Registry::find_processor);
  kind_section("Heads", ComponentKind::head, &Registry::find_head);
  kind_section("Metrics", ComponentKind::metric, &Registry::find_metric);
  return out;
}

}  // namespace graft::core
