// The registry: typed tables of components, filled by plugins through a per-plugin Registrar
// scope, then read-only. Lookups suggest the nearest name and list what is known.
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/log.h>

#include "plugin_host.h"

#if __has_include(<graft/core/tokenizers.h>)
#include <graft/core/tokenizers.h>
#define GRAFT_HAVE_CORE_TOKENIZERS 1
#endif

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>
#include <tuple>

namespace fs = std::filesystem;

namespace graft::core {

// ---------------------------------------------------------------------------------------------
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  // Optimal string alignment distance: insert, delete, substitute, swap two adjacent characters.
  auto distance = [](const std::string& a, const std::string& b) {
    const size_t n = a.size(), m = b.size();
    std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
    for (size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (size_t i = 1; i <= n; ++i)
      for (size_t j = 1; j <= m; ++j) {
        size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]))
                          ? 0
                          : 1;
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[n][m];
  };
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t dist = distance(word, c);
    if (dist < best_d || (dist == best_d && !best.empty() && c < best)) {
      best_d = dist;
      best = c;
    }
  }
  return best_d <= limit ? best : std::string();
}

// ---------------------------------------------------------------------------------------------
namespace {

template <class E>
struct Table {
  std::map<std::string, Registered<E>> entries;
  std::map<std::string, std::string> aliases;  ///< alias -> canonical name
};

const char* plural(ComponentKind k) {
  switch (k) {
    case ComponentKind::tokenizer: return "tokenizers";
    case ComponentKind::processor: return "processors";
    case ComponentKind::language_model: return "language models";
    case ComponentKind::head: return "heads";
    case ComponentKind::metric: return "metrics";
  }
  return "components";
}
const char* singular(ComponentKind k) {
  switch (k) {
    case ComponentKind::language_model: return "language model";
    default: return kind_name(k);
  }
}

template <class E> constexpr ComponentKind kind_of();
template <> constexpr ComponentKind kind_of<LanguageModelEntry>() { return ComponentKind::language_model; }
template <> constexpr ComponentKind kind_of<HeadEntry>() { return ComponentKind::head; }
template <> constexpr ComponentKind kind_of<ProcessorEntry>() { return ComponentKind::processor; }
template <> constexpr ComponentKind kind_of<MetricEntry>() { return ComponentKind::metric; }
template <> constexpr ComponentKind kind_of<TokenizerEntry>() { return ComponentKind::tokenizer; }

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

std::string origin(const std::string& plugin_file) { return plugin_file.empty() ? "graft core" : plugin_file; }

}  // namespace

struct RegistryTables {
  Table<LanguageModelEntry> language_models;
  Table<HeadEntry> heads;
  Table<ProcessorEntry> processors;
  Table<MetricEntry> metrics;
  Table<TokenizerEntry> tokenizers;
  std::vector<PluginRecord> records;
  std::vector<std::string> searched;        ///< directories, in load order
  std::set<std::string> loaded_files;       ///< canonical paths already tried
  std::set<std::string> builtin_ids;
  mutable std::mutex alias_mutex;
  mutable std::set<std::string> aliases_logged;

  template <class E> Table<E>& table();
  template <class E> const Table<E>& table() const { return const_cast<RegistryTables*>(this)->table<E>(); }

  template <class E>
  const Registered<E>* find(const std::string& name) const {
    const auto& t = table<E>();
    if (auto it = t.entries.find(name); it != t.entries.end()) return &it->second;
    if (auto a = t.aliases.find(name); a != t.aliases.end()) {
      {
        std::lock_guard<std::mutex> lock(alias_mutex);
        if (aliases_logged.insert(std::string(kind_name(kind_of<E>())) + ":" + name).second)
          log::info(singular(kind_of<E>()), " '", name, "' is an alias of '", a->second, "'; prefer the new name");
      }
      return &t.entries.at(a->second);
    }
    return nullptr;
  }

  template <class E>
  const Registered<E>& get(const std::string& name, const Registry& self) const {
    if (const auto* r = find<E>(name)) return *r;
    const ComponentKind k = kind_of<E>();
    std::vector<std::string> known = self.names(k);
    std::vector<std::string> all = known;
    for (const auto& [alias, target] : table<E>().aliases) all.push_back(alias);
    std::string msg = cat("no ", singular(k), " named '", name, "'");
    std::string guess = did_you_mean(name, all);
    if (!guess.empty()) msg += cat("; did you mean '", guess, "'?");
    msg += cat("; known ", plural(k), ": ", known.empty() ? "(none)" : join(known, ", "));
    msg += cat("; plugin search path: ", searched.empty() ? "(empty)" : join(searched, ":"));
    size_t failed = std::count_if(records.begin(), records.end(), [](const PluginRecord& r) { return !r.loaded; });
    if (failed) msg += cat("; ", failed, " plugin file", failed == 1 ? "" : "s", " failed to load (see `graft plugins list`)");
    throw ConfigError(msg);
  }
};
template <> Table<LanguageModelEntry>& RegistryTables::table<LanguageModelEntry>() { return language_models; }
template <> Table<HeadEntry>& RegistryTables::table<HeadEntry>() { return heads; }
template <> Table<ProcessorEntry>& RegistryTables::table<ProcessorEntry>() { return processors; }
template <> Table<MetricEntry>& RegistryTables::table<MetricEntry>() { return metrics; }
template <> Table<TokenizerEntry>& RegistryTables::table<TokenizerEntry>() { return tokenizers; }
struct Registry::Impl : RegistryTables {};

namespace {

/// The Registrar a plugin sees: stages its entries, which are committed only when the whole
/// registration succeeded and no name clashes (so a failing plugin leaves no trace).
class ScopedRegistrar final : public Registrar {
 public:
  ScopedRegistrar(RegistryTables& impl, std::string id, std::string file)
      : impl_(impl), id_(std::move(id)), file_(std::move(file)) {}

  void add(LanguageModelEntry e) override { std::get<0>(staged_).push_back(std::move(e)); }
  void add(HeadEntry e) override { std::get<1>(staged_).push_back(std::move(e)); }
  void add(ProcessorEntry e) override { std::get<2>(staged_).push_back(std::move(e)); }
  void add(MetricEntry e) override { std::get<3>(staged_).push_back(std::move(e)); }
  void add(TokenizerEntry e) override { std::get<4>(staged_).push_back(std::move(e)); }

  size_t count() const {
    return std::apply([](const auto&... v) { return (v.size() + ...); }, staged_);
  }

  /// Every problem with the staged entries (empty = fine to commit).
  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    std::apply([&](const auto&... v) { (check(v, out), ...); }, staged_);
    return out;
  }

  /// Moves the staged entries into the registry; returns "kind:name" for each.
  std::vector<std::string> commit() {
    std::vector<std::string> names;
    std::apply([&](auto&... v) { (commit_one(v, names), ...); }, staged_);
    return names;
  }

 private:
  template <class E>
  void check(const std::vector<E>& staged, std::vector<std::string>& out) const {
    const ComponentKind k = kind_of<E>();
    const auto& t = impl_.table<E>();
    std::map<std::string, std::string> mine;  // name or alias -> what it is within this plugin
    for (const auto& e : staged) {
      if (e.name.empty() || e.name.find_first_of(" \t\r\n\"'=") != std::string::npos) {
        out.push_back(cat("registered a ", singular(k), " with an invalid name '", e.name, "'"));
        continue;
      }
      if (!e.make || !e.make_options) {
        out.push_back(cat(singular(k), " '", e.name, "' has no factory"));
        continue;
      }
      std::vector<std::string> keys{e.name};
      keys.insert(keys.end(), e.aliases.begin(), e.aliases.end());
      for (const auto& key : keys) {
        const char* what = key == e.name ? "" : " (alias)";
        if (auto it = t.entries.find(key); it != t.entries.end())
          out.push_back(cat(singular(k), " '", key, "'", what, " is already provided by ", origin(it->second.plugin_file)));
        else if (auto a = t.aliases.find(key); a != t.aliases.end())
          out.push_back(cat(singular(k), " '", key, "'", what, " is already an alias of '", a->second,
                            "' provided by ", origin(t.entries.at(a->second).plugin_file)));
        else if (!mine.emplace(key, e.name).second)
          out.push_back(cat(singular(k), " '", key, "' is registered twice"));
      }
    }
  }

  template <class E>
  void commit_one(std::vector<E>& staged, std::vector<std::string>& names) {
    auto& t = impl_.table<E>();
    for (auto& e : staged) {
      names.push_back(cat(kind_name(kind_of<E>()), ":", e.name));
      for (const auto& a : e.aliases) t.aliases[a] = e.name;
      std::string name = e.name;
      t.entries.emplace(name, Registered<E>{std::move(e), id_, file_});
    }
    staged.clear();
  }

  RegistryTables& impl_;
  std::string id_, file_;
  std::tuple<std::vector<LanguageModelEntry>, std::vector<HeadEntry>, std::vector<ProcessorEntry>,
             std::vector<MetricEntry>, std::vector<TokenizerEntry>>
      staged_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

namespace {
bool is_duplicate_problem(const std::string& p) {
  return p.find("is already provided by") != std::string::npos || p.find("is already an alias of") != std::string::npos;
}
}  // namespace

void Registry::register_builtin(const std::string& id, void (*fn)(Registrar&)) {
  if (!impl_->builtin_ids.insert(id).second) return;  // registering the same built-ins twice is a no-op
  ScopedRegistrar scope(*impl_, id, "");
  try {
    fn(scope);
  } catch (const std::exception& e) {
    throw PluginError(cat("built-in components '", id, "': registration failed: ", e.what()));
  }
  auto problems = scope.problems();
  if (!problems.empty()) throw PluginError(cat("built-in components '", id, "': ", join(problems, "; ")));
  scope.commit();
}

void Registry::load_plugin(const std::string& file) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(fs::path(file), ec);
  std::string key = ec ? file : canon.string();
  if (impl_->loaded_files.count(key)) {
    // Already tried (same file reached through two search path entries): report the first outcome.
    for (const auto& r : impl_->records)
      if (r.file == file || r.file == key) {
        if (!r.loaded) throw PluginError(r.reason);
        return;
      }
    return;
  }
  impl_->loaded_files.insert(key);
  impl_->records.push_back(PluginRecord{});
  const size_t index = impl_->records.size() - 1;
  impl_->records[index].file = file;
  auto fail = [&](const std::string& reason) {
    impl_->records[index].loaded = false;
    impl_->records[index].reason = reason;
    throw PluginError(reason);
  };

  if (!fs::exists(file, ec)) fail(cat("plugin ", file, " does not exist"));
  PluginRecord rec;
  rec.file = file;
  const graft_plugin_descriptor* d = nullptr;
  try {
    d = &detail::open_plugin(file, rec);
  } catch (const PluginError& e) {
    rec.loaded = false;
    rec.reason = e.what();
    impl_->records[index] = rec;
    throw;
  }
  impl_->records[index] = rec;

  ScopedRegistrar scope(*impl_, rec.id, file);
  char err[1024] = {0};
  int rc = d->register_components(static_cast<Registrar*>(&scope), err, sizeof(err));
  err[sizeof(err) - 1] = '\0';
  if (rc != 0) fail(cat("plugin ", file, " (", rec.id, "): registration failed: ", err[0] ? err : "no reason given"));
  if (scope.count() == 0) fail(cat("plugin ", file, " (", rec.id, ") registered no components"));
  auto problems = scope.problems();
  if (!problems.empty()) fail(cat("plugin ", file, " (", rec.id, "): ", join(problems, "; ")));
  impl_->records[index].components = scope.commit();
  impl_->records[index].loaded = true;
  log::debug("loaded plugin ", file, " (", rec.id, " ", rec.version, ")");
}

void Registry::load_directory(const std::string& dir_or_file) {
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(dir_or_file, ec)) {
    if (std::find(impl_->searched.begin(), impl_->searched.end(), dir_or_file) == impl_->searched.end())
      impl_->searched.push_back(dir_or_file);
    for (const auto& de : fs::directory_iterator(dir_or_file, ec))
      if (detail::looks_like_plugin_file(de.path().filename().string()) && !fs::is_directory(de.path(), ec))
        files.push_back(de.path().string());
    std::sort(files.begin(), files.end());
  } else if (fs::exists(dir_or_file, ec)) {
    files.push_back(dir_or_file);
  } else {
    log::debug("plugin path entry ", dir_or_file, " does not exist");
    if (std::find(impl_->searched.begin(), impl_->searched.end(), dir_or_file) == impl_->searched.end())
      impl_->searched.push_back(dir_or_file);
    return;
  }
  std::vector<std::string> duplicates;
  for (const auto& f : files) {
    try {
      load_plugin(f);
    } catch (const PluginError& e) {
      if (is_duplicate_problem(e.what())) duplicates.push_back(e.what());
      else log::debug(e.what());
    }
  }
  if (!duplicates.empty()) throw PluginError(join(duplicates, "\n"));
}

const std::vector<PluginRecord>& Registry::plugins() const { return impl_->records; }
std::vector<std::string> Registry::search_path() const { return impl_->searched; }

Registry& Registry::global(const std::vector<std::string>& extra_paths) {
  static std::mutex m;
  static Registry* reg = nullptr;  // leaked on purpose: entries point into pinned plugins
  std::lock_guard<std::mutex> lock(m);
  // Every directory is loaded even when one has duplicate names, so that `graft plugins list`
  // can show the whole picture; the duplicates are then thrown together. A later call returns
  // the registry as loaded.
  std::vector<std::string> dirs = extra_paths;
  if (!reg) {
    reg = new Registry();
#ifdef GRAFT_HAVE_CORE_TOKENIZERS
    reg->register_builtin("core", &register_core_tokenizers);
#endif
    for (const auto& p : detail::env_plugin_dirs()) dirs.push_back(p);
    for (const auto& p : detail::default_plugin_dirs()) dirs.push_back(p);
  }
  std::vector<std::string> duplicates;
  for (const auto& p : dirs) {
    try {
      reg->load_directory(p);
    } catch (const PluginError& e) {
      duplicates.push_back(e.what());
    }
  }
  if (!duplicates.empty()) throw PluginError(join(duplicates, "\n"));
  return *reg;
}

// ---------------------------------------------------------------------------------------------
#define GRAFT_REGISTRY_LOOKUPS(NAME, ENTRY)                                                      \
  const Registered<ENTRY>& Registry::NAME(const std::string& name) const {                     \
    return impl_->get<ENTRY>(name, *this);                                                       \
  }                                                                                              \
  const Registered<ENTRY>* Registry::find_##NAME(const std::string& name) const {               \
    return impl_->find<ENTRY>(name);                                                             \
  }
GRAFT_REGISTRY_LOOKUPS(language_model, LanguageModelEntry)
GRAFT_REGISTRY_LOOKUPS(head, HeadEntry)
GRAFT_REGISTRY_LOOKUPS(processor, ProcessorEntry)
GRAFT_REGISTRY_LOOKUPS(metric, MetricEntry)
GRAFT_REGISTRY_LOOKUPS(tokenizer, TokenizerEntry)
#undef GRAFT_REGISTRY_LOOKUPS

const Registered<LanguageModelEntry>& Registry::language_model_for_model_type(const std::string& model_type) const {
  std::vector<std::string> known;
  for (const auto& [name, r] : impl_->language_models.entries)
    for (const auto& mt : r.entry.hf_names) {
      if (mt == model_type) return r;
      known.push_back(mt);
    }
  std::sort(known.begin(), known.end());
  std::string msg = cat("no language model serves config.json model_type '", model_type, "'");
  std::string guess = did_you_mean(model_type, known);
  if (!guess.empty()) msg += cat("; did you mean '", guess, "'?");
  msg += cat("; known model types: ", known.empty() ? "(none)" : join(known, ", "));
  msg += cat("; plugin search path: ", impl_->searched.empty() ? "(empty)" : join(impl_->searched, ":"));
  throw ConfigError(msg);
}

const Registered<HeadEntry>* Registry::head_for_hf_suffix(const std::string& suffix) const {
  for (const auto& [name, r] : impl_->heads.entries)
    for (const auto& s : r.entry.hf_names)
      if (s == suffix) return &r;
  return nullptr;
}

std::vector<std::string> Registry::names(ComponentKind kind) const {
  std::vector<std::string> out;
  auto collect = [&](const auto& t) {
    for (const auto& [name, r] : t.entries) out.push_back(name);
  };
  switch (kind) {
    case ComponentKind::language_model: collect(impl_->language_models); break;
    case ComponentKind::head: collect(impl_->heads); break;
    case ComponentKind::processor: collect(impl_->processors); break;
    case ComponentKind::metric: collect(impl_->metrics); break;
    case ComponentKind::tokenizer: collect(impl_->tokenizers); break;
  }
  return out;  // std::map keeps them sorted
}

}  // namespace graft::core
