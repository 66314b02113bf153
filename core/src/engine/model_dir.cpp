// Building models from recipes, saving and loading model directories.
#include <graft/core/files.h>
#include <graft/core/hf_heads.h>
#include <graft/core/hub.h>
#include <graft/core/json.h>
#include <graft/core/model_dir.h>
#include <graft/core/model_loader.h>
#include <graft/core/options_io.h>
#include <graft/core/tokenizers.h>
#include <graft/core/weights.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

/// Reads `table` into a fresh options object of a component; ConfigError listing every problem.
template <class EntryT>
std::unique_ptr<OptionsBase> options_from(const EntryT& entry, const Value& table, const std::string& what) {
  auto opts = entry.make_options();
  Diagnostics diag;
  Value t = table.is_null() ? Value::object() : table;
  read_options(*opts, t, diag, ReadMode{{"type"}, false});
  GRAFT_CHECK(diag.ok(), ConfigError, what, ": invalid options:\n", diag.format());
  return opts;
}

/// Sets `key` to `v` in an options table when the component has such a field and it is empty.
void fill_if_empty(Value& table, const std::string& key, const Value& v) {
  Value* cur = table.find(key);
  if (cur == nullptr) return;
  if (cur->is_null() || (cur->is_array() && cur->size() == 0)) *cur = v;
}

std::shared_ptr<PredictionHead> make_head(Registry& registry, const TaskSpec& task, const LanguageModel& lm,
                                          const std::string& where) {
  const auto& entry = registry.head(task.head_type).entry;
  auto opts = options_from(entry, task.head_options, cat(where, " head '", task.head_type, "'"));
  HeadContext ctx;
  ctx.task = task.name;
  ctx.hidden_size = lm.hidden_size();
  ctx.hf_config = lm.hf_config();
  ctx.model_type = ctx.hf_config.get_string("model_type", "");
  ctx.labels = task.labels;
  return entry.make(*opts, ctx);
}

std::shared_ptr<Processor> make_processor(Registry& registry, const TaskSpec& task, const std::string& base_dir,
                                          const std::string& where) {
  const auto& entry = registry.processor(task.processor_type).entry;
  auto opts = options_from(entry, task.processor_options, cat(where, " processor '", task.processor_type, "'"));
  auto p = entry.make(*opts, ProcessorContext{base_dir});
  p->set_task(task.name);
  return p;
}

double initializer_range(const LanguageModel& lm) { return lm.hf_config().get_double("initializer_range", 0.02); }

/// Heads with empty `label_mean` / `label_std` options (regression target standardisation) get
/// the per-target mean and population standard deviation of the training samples'
/// "<task>/label_ids" tensors, so the statistics are saved with the model (graft.toml).
void fill_target_statistics(TaskSpec& spec, const TaskData& td) {
  const Value* mean_opt = spec.head_options.find("label_mean");
  const Value* std_opt = spec.head_options.find("label_std");
  if (!mean_opt || !std_opt || !mean_opt->is_array() || mean_opt->size() != 0 || std_opt->size() != 0) return;
  const std::string key = spec.name + "/label_ids";
  std::vector<double> sum, sq;
  int64_t n = 0;
  for (const auto& b : td.train)
    for (const auto& s : b.samples) {
      auto it = s.features.find(key);
      if (it == s.features.end() || !it->second.is_floating_point()) return;
      torch::Tensor t = it->second.to(torch::kFloat64).reshape({-1}).contiguous();
      const double* p = t.data_ptr<double>();
      if (n == 0) sum.assign(t.numel(), 0.0);
      if (static_cast<size_t>(t.numel()) != sum.size()) return;
      if (n == 0) sq.assign(t.numel(), 0.0);
      for (size_t k = 0; k < sum.size(); ++k) sum[k] += p[k];
      ++n;
    }
  if (n == 0) return;
  std::vector<double> mean(sum.size()), sd(sum.size());
  for (size_t k = 0; k < sum.size(); ++k) mean[k] = sum[k] / static_cast<double>(n);
  for (const auto& b : td.train)
    for (const auto& s : b.samples) {
      torch::Tensor t = s.features.at(key).to(torch::kFloat64).reshape({-1}).contiguous();
      const double* p = t.data_ptr<double>();
      for (size_t k = 0; k < sum.size(); ++k) sq[k] += (p[k] - mean[k]) * (p[k] - mean[k]);
    }
  for (size_t k = 0; k < sum.size(); ++k) sd[k] = std::sqrt(sq[k] / static_cast<double>(n));
  fill_if_empty(spec.head_options, "label_mean", Value(mean));
  fill_if_empty(spec.head_options, "label_std", Value(sd));
}

}  // namespace

const TaskSpec& ModelBundle::task(const std::string& name) const {
  if (name.empty()) {
    GRAFT_CHECK(tasks.size() == 1, ConfigError, "the model has several tasks (",
                [&] {
                  std::vector<std::string> n;
                  for (const auto& t : tasks) n.push_back(t.name);
                  return join(n);
                }(),
                "); name one with --task");
    return tasks.front();
  }
  for (const auto& t : tasks)
    if (t.name == name) return t;
  std::vector<std::string> n;
  for (const auto& t : tasks) n.push_back(t.name);
  throw ConfigError(cat("the model has no task '", name, "' (tasks: ", join(n), ")"));
}

const Tokenizer& ModelBundle::require_tokenizer() const {
  GRAFT_CHECK(tokenizer != nullptr, FormatError,
              tokenizer_error.empty() ? cat(dir, ": the model has no tokenizer") : tokenizer_error);
  return *tokenizer;
}

Processor& ModelBundle::processor(const std::string& t) const {
  auto it = processors.find(t);
  GRAFT_CHECK(it != processors.end(), ConfigError, "the model has no processor for task '", t, "'");
  return *it->second;
}

std::string checkpoint_dir(const Recipe& recipe) {
  const std::string& ck = recipe.language_model.checkpoint;
  if (ck.empty()) return {};
  std::string p = resolve_path(recipe.base_dir, ck);
  if (fs::is_directory(p)) return p;
  if (fs::is_directory(ck)) return ck;
  // a hub id (org/name[@revision]): the HF cache, else a download (see hub.h)
  GRAFT_CHECK(hub::parse_repo_id(ck).has_value(), ConfigError, recipe.path, ": language_model.checkpoint: '", ck,
              "' is not a model directory (looked at ", p,
              ") nor a Hugging Face hub id (org/name[@revision]); give a local Hugging Face model directory "
              "(config.json + weights) or a hub id");
  try {
    return hub::resolve_model_dir(ck);
  } catch (const Error& e) {
    throw ConfigError(cat(recipe.path, ": language_model.checkpoint: '", ck, "' is not a local directory (looked at ", p,
                          "): ", e.what()));
  }
}

std::shared_ptr<Tokenizer> tokenizer_from_recipe(const Recipe& recipe, Registry& registry) {
  if (!recipe.tokenizer.type.empty()) {
    const auto& entry = registry.tokenizer(recipe.tokenizer.type).entry;
    auto opts = options_from(entry, recipe.tokenizer.options, cat(recipe.path, ": [tokenizer]"));
    std::string ck = checkpoint_dir(recipe);
    return entry.make(*opts, TokenizerContext{ck.empty() ? recipe.base_dir : ck});
  }
  std::string ck = checkpoint_dir(recipe);
  GRAFT_CHECK(!ck.empty(), ConfigError, recipe.path,
              ": a model built from config needs a [tokenizer] section (e.g. type = \"wordpiece\", vocab = \"vocab.txt\")");
  return load_tokenizer(ck);
}

RecipeBuild build_from_recipe(const Recipe& recipe, Registry& registry, const SiloOptions& silo_options) {
  RecipeBuild rb;
  ModelBundle& b = rb.bundle;
  GRAFT_CHECK(!recipe.tasks.empty(), ConfigError, recipe.path, ": the recipe has no [[tasks]]");
  b.tokenizer = tokenizer_from_recipe(recipe, registry);

  // processors and data
  std::vector<std::pair<std::string, std::shared_ptr<Processor>>> procs;
  for (const auto& t : recipe.tasks) {
    TaskSpec spec;
    spec.name = t.name;
    spec.loss_weight = t.loss_weight;
    spec.metrics = t.metrics;
    spec.head_type = registry.head(t.head_type).entry.name;
    spec.processor_type = registry.processor(t.processor_type).entry.name;
    GRAFT_CHECK(t.processor != nullptr && t.head != nullptr, ConfigError, recipe.path, ": task '", t.name,
                "' has no processor/head options");
    spec.processor_options = write_options(*t.processor);
    spec.head_options = write_options(*t.head);
    for (const auto& m : t.metrics) registry.metric(m);  // unknown names fail before any work
    auto p = registry.processor(t.processor_type).entry.make(*t.processor, ProcessorContext{recipe.base_dir});
    p->set_task(t.name);
    b.processors[t.name] = p;
    procs.emplace_back(t.name, p);
    b.tasks.push_back(std::move(spec));
  }
  SiloOptions so = silo_options;
  if (so.base_dir.empty()) so.base_dir = recipe.base_dir;
  rb.silo = std::make_unique<DataSilo>(procs, b.tokenizer, so);

  // language model (seeded initialisation)
  torch::manual_seed(static_cast<uint64_t>(recipe.run.seed));
  std::shared_ptr<LanguageModel> lm;
  std::string ck = checkpoint_dir(recipe);
  if (!ck.empty()) {
    LoadPretrainedOptions lo;
    lo.type = recipe.language_model.type;
    lo.config_overrides = recipe.language_model.config;
    auto loaded = load_pretrained(ck, registry, lo);
    lm = loaded.model;
    b.lm_type = loaded.registry_name;
  } else {
    GRAFT_CHECK(recipe.language_model.config.is_object(), ConfigError, recipe.path,
                ": [language_model] needs a checkpoint or a config table (with type) to build from scratch");
    lm = build_from_config(recipe.language_model.config, recipe.language_model.type, registry);
    b.lm_type = !recipe.language_model.type.empty()
                    ? registry.language_model(recipe.language_model.type).entry.name
                    : registry.language_model_for_model_type(recipe.language_model.config.get_string("model_type", "")).entry.name;
  }
  GRAFT_CHECK(lm->hf_config().get_int("vocab_size", b.tokenizer->vocab_size()) >= b.tokenizer->vocab_size(), ConfigError,
              recipe.path, ": the tokenizer has ", b.tokenizer->vocab_size(), " tokens but the language model's vocab_size is ",
              lm->hf_config().get_int("vocab_size", 0), " (set language_model.config.vocab_size)");

  // heads: labels from the processors, class counts from the training data
  std::vector<TaskHead> heads;
  for (auto& spec : b.tasks) {
    Processor& p = *b.processors.at(spec.name);
    spec.labels = p.labels();
    const TaskData& td = rb.silo->task(spec.name);
    if (!spec.labels.empty()) {
      fill_if_empty(spec.processor_options, "labels", Value(spec.labels));
      fill_if_empty(spec.head_options, "labels", Value(spec.labels));
      auto st = td.stats.find("train");
      if (st != td.stats.end()) {
        std::vector<int64_t> counts;
        for (const auto& l : spec.labels) {
          auto it = st->second.labels.find(l);
          counts.push_back(it == st->second.labels.end() ? 0 : it->second);
        }
        fill_if_empty(spec.head_options, "class_counts", Value(counts));
      }
    }
    fill_target_statistics(spec, td);
    auto head = make_head(registry, spec, *lm, cat(recipe.path, ": task '", spec.name, "'"));
    head->init_weights(initializer_range(*lm));
    if (spec.labels.empty()) spec.labels = head->labels();
    heads.push_back(TaskHead{spec.name, head, spec.loss_weight});
  }
  b.model = std::make_shared<AdaptiveModel>(lm, std::move(heads));
  return rb;
}

void save_model_dir(const ModelBundle& b, const std::string& dir, const Value& resolved) {
  GRAFT_CHECK(b.model != nullptr && b.tokenizer != nullptr, Error, "save_model_dir: incomplete model");
  std::string parent = fs::path(dir).parent_path().string();
  if (!parent.empty()) fs::create_directories(parent);
  std::string tmp = make_temp_dir_for(dir);
  try {
    const AdaptiveModel& m = *b.model;
    const LanguageModel& lm = *m.language_model_ptr();
    SaveOptions so;
    so.prefix_base_model = true;
    const bool single = m.heads().size() == 1;
    for (const auto& h : m.heads()) {
      std::string hp = single ? "" : "heads." + h.task + ".";
      for (const auto& p : h.head->named_parameters()) so.extra_tensors.set(hp + p.key(), p.value().detach());
      for (const auto& bf : h.head->named_buffers()) so.extra_tensors.set(hp + bf.key(), bf.value().detach());
    }
    Value extra = Value::object();
    Value archs = Value::array();
    if (single) {
      HfHeadExport ex = m.heads().front().head->hf_export();
      if (!ex.architecture_suffix.empty()) {
        archs.push_back(lm.architecture_stem() + ex.architecture_suffix);
        if (ex.config.is_object())
          for (const auto& [k, v] : ex.config.as_object()) extra.set(k, v);
      } else {
        archs.push_back(lm.architecture_stem() + "Model");
      }
    } else {
      archs.push_back(lm.architecture_stem() + "Model");
    }
    extra.set("architectures", archs);
    so.extra_config = extra;
    save_pretrained(tmp, lm, so);
    save_tokenizer(*b.tokenizer, tmp);

    Value g = Value::object();
    g.set("graft_version", GRAFT_VERSION);
    g.set("format", int64_t{1});
    Value lmv = Value::object();
    lmv.set("type", b.lm_type);
    lmv.set("architecture_stem", lm.architecture_stem());
    g.set("language_model", lmv);
    Value tasks = Value::array();
    for (const auto& t : b.tasks) {
      Value tv = Value::object();
      tv.set("name", t.name);
      tv.set("loss_weight", t.loss_weight);
      tv.set("labels", Value(t.labels));
      tv.set("metrics", Value(t.metrics));
      Value head = t.head_options.is_object() ? t.head_options : Value::object();
      head.set("type", t.head_type);
      tv.set("head", head);
      Value proc = t.processor_options.is_object() ? t.processor_options : Value::object();
      proc.set("type", t.processor_type);
      tv.set("processor", proc);
      tasks.push_back(tv);
    }
    g.set("tasks", tasks);
    write_file_atomic(tmp + "/graft.toml", to_toml(g));
    if (resolved.is_object()) write_file_atomic(tmp + "/resolved_recipe.toml", to_toml(resolved));
    commit_dir(tmp, dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  log::info("saved model to ", dir);
}

namespace {

/// The processor the head's plugin registers (plain HF checkpoints carry no processor).
std::string default_processor_for(Registry& registry, const Registered<HeadEntry>& head) {
  std::vector<std::string> same;
  for (const auto& n : registry.names(ComponentKind::processor)) {
    const auto* p = registry.find_processor(n);
    if (p && p->plugin_id == head.plugin_id && p->entry.name == n) same.push_back(n);
  }
  GRAFT_CHECK(!same.empty(), ConfigError, "no processor is registered by plugin '", head.plugin_id, "' (head '",
              head.entry.name, "'); save the model with graft to record its processor");
  // several: prefer the one sharing the head's last word ("text_classification" → "*classification")
  std::string last = head.entry.name.substr(head.entry.name.rfind('_') + 1);
  for (const auto& n : same)
    if (n.size() >= last.size() && n.compare(n.size() - last.size(), last.size(), last) == 0) return n;
  return same.front();
}

TaskSpec task_from_toml(const Value& tv, const std::string& where) {
  TaskSpec t;
  GRAFT_CHECK(tv.is_object(), FormatError, where, ": each [[tasks]] entry must be a table");
  t.name = tv.at("name").as_string();
  t.loss_weight = tv.get_double("loss_weight", 1.0);
  if (const Value* l = tv.find("labels"))
    for (const auto& x : l->as_array()) t.labels.push_back(x.as_string());
  if (const Value* m = tv.find("metrics"))
    for (const auto& x : m->as_array()) t.metrics.push_back(x.as_string());
  t.head_options = tv.at("head");
  t.head_type = t.head_options.at("type").as_string();
  t.head_options.erase("type");
  t.processor_options = tv.at("processor");
  t.processor_type = t.processor_options.at("type").as_string();
  t.processor_options.erase("type");
  return t;
}

}  // namespace

ModelBundle load_model_dir(const std::string& spec, Registry& registry, const torch::Device& device) {
  const std::string dir = hub::resolve_if_hub_id(spec);  // a local directory, or a hub id via the HF cache
  GRAFT_CHECK(fs::is_directory(dir), ConfigError, "model directory '", dir, "' does not exist");
  ModelBundle b;
  b.dir = dir;
  const std::string gpath = (fs::path(dir) / "graft.toml").string();
  const bool graft_dir = fs::exists(gpath);
  Value g;
  LoadPretrainedOptions lo;
  if (graft_dir) {
    try {
      g = read_toml_file(gpath);
      lo.type = g.at("language_model").at("type").as_string();
      for (const auto& tv : g.at("tasks").as_array()) b.tasks.push_back(task_from_toml(tv, gpath));
    } catch (const FormatError&) {
      throw;
    } catch (const Error& e) {
      throw FormatError(cat(gpath, ": ", e.what()));
    }
    GRAFT_CHECK(!b.tasks.empty(), FormatError, gpath, ": no [[tasks]]");
  }
  auto loaded = load_pretrained(dir, registry, lo);
  b.lm_type = loaded.registry_name;
  std::shared_ptr<LanguageModel> lm = loaded.model;

  if (!graft_dir) {
    std::string suffix = loaded.architecture_suffix();
    const auto* head = suffix.empty() ? nullptr : head_for_hf_checkpoint(registry, suffix, loaded.config);
    GRAFT_CHECK(head != nullptr, ConfigError, dir, "/config.json: architectures ",
                loaded.architectures.empty() ? std::string("(none)") : join(loaded.architectures),
                " has no task head graft knows (no graft.toml either); known heads: ",
                join(registry.names(ComponentKind::head)));
    TaskSpec t;
    t.name = head->entry.name;
    t.head_type = head->entry.name;
    t.processor_type = default_processor_for(registry, *head);
    b.tasks.push_back(t);
    log::info(dir, ": plain Hugging Face checkpoint (", loaded.architectures.front(), "): task '", t.name, "' with head '",
              t.head_type, "' and processor '", t.processor_type, "'");
  }

  std::vector<TaskHead> heads;
  const bool single = b.tasks.size() == 1;
  for (auto& t : b.tasks) {
    auto head = make_head(registry, t, *lm, cat(gpath, ": task '", t.name, "'"));
    if (t.labels.empty()) t.labels = head->labels();
    LoadOptions opt;
    if (!single) opt.prefixes = {"heads." + t.name};
    opt.strict = true;
    StateDict sd = loaded.state_dict;
    if (sd.source().empty()) sd.set_source(loaded.weights_file);
    try {
      load_into(*head, sd, opt);
    } catch (const FormatError& e) {
      throw FormatError(cat(loaded.weights_file, ": task '", t.name, "' head weights: ", e.what()));
    }
    heads.push_back(TaskHead{t.name, head, t.loss_weight});
    if (t.processor_options.is_object()) fill_if_empty(t.processor_options, "labels", Value(t.labels));
    auto proc = make_processor(registry, t, dir, cat(gpath, ": task '", t.name, "'"));
    if (!graft_dir && proc->labels().empty() && !t.labels.empty()) {
      // plain HF: hand the id2label list to the processor through its options, when it has such a field
      auto opts = registry.processor(t.processor_type).entry.make_options();
      Value table = write_options(*opts);
      fill_if_empty(table, "labels", Value(t.labels));
      t.processor_options = table;
      proc = make_processor(registry, t, dir, dir);
    }
    b.processors[t.name] = proc;
  }
  b.model = std::make_shared<AdaptiveModel>(lm, std::move(heads));
  b.model->to_device(device);
  b.model->eval();
  try {
    b.tokenizer = load_tokenizer(dir);
  } catch (const FormatError& e) {
    if (graft_dir) throw;
    b.tokenizer_error = e.what();  // weights-only HF checkpoint: fine for training from it
  }
  return b;
}

}  // namespace graft::core
