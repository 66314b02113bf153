// graft plugins list | info NAME: what the plugin search path holds and what each component takes.
#include "cli.h"

#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <boost/program_options.hpp>

#include <filesystem>
#include <iostream>

namespace po = boost::program_options;

namespace graft::cli {
namespace {

constexpr ComponentKind kKinds[] = {ComponentKind::language_model, ComponentKind::tokenizer,
                                    ComponentKind::processor, ComponentKind::head, ComponentKind::metric};

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

/// Everything `info` shows about one entry, whatever its kind.
struct EntryView {
  ComponentKind kind;
  std::string name, summary, plugin_id, plugin_file;
  std::vector<std::string> aliases, hf_names;
  std::unique_ptr<OptionsBase> options;
};

template <class R>
EntryView view(ComponentKind k, const R& r) {
  return EntryView{k, r.entry.name, r.entry.summary, r.plugin_id, r.plugin_file,
                   r.entry.aliases, r.entry.hf_names, r.entry.make_options()};
}

std::optional<EntryView> find_entry(const core::Registry& reg, ComponentKind k, const std::string& name) {
  switch (k) {
    case ComponentKind::language_model:
      if (auto* r = reg.find_language_model(name)) return view(k, *r);
      break;
    case ComponentKind::tokenizer:
      if (auto* r = reg.find_tokenizer(name)) return view(k, *r);
      break;
    case ComponentKind::processor:
      if (auto* r = reg.find_processor(name)) return view(k, *r);
      break;
    case ComponentKind::head:
      if (auto* r = reg.find_head(name)) return view(k, *r);
      break;
    case ComponentKind::metric:
      if (auto* r = reg.find_metric(name)) return view(k, *r);
      break;
  }
  return std::nullopt;
}

std::string constraint_text(const core::FieldSchema& f) {
  std::string out;
  if (!f.check.choices.empty()) out = "one of: " + join(f.check.choices, ", ");
  auto num = [](double d) {
    Value v = (std::floor(d) == d && std::abs(d) < 1e15) ? Value(static_cast<int64_t>(d)) : Value(d);
    return v.dump_json();
  };
  if (f.check.min && f.check.max) out = "range [" + num(*f.check.min) + ", " + num(*f.check.max) + "]";
  else if (f.check.min) out = ">= " + num(*f.check.min);
  else if (f.check.max) out = "<= " + num(*f.check.max);
  return out;
}

po::variables_map parse(const std::vector<std::string>& args, po::options_description& desc,
                        po::positional_options_description& pos) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat(e.what(), "\n", desc));
  }
  return vm;
}

int plugins_list(CliContext& ctx, const std::vector<std::string>& args) {
  po::options_description desc("usage: graft plugins list [--plugin-path DIR]...\n\noptions");
  desc.add_options()("help,h", "this text");
  po::positional_options_description pos;
  auto vm = parse(args, desc, pos);
  if (vm.count("help")) {
    std::cout << desc << "\nLists every plugin file found on the search path (--plugin-path, GRAFT_PLUGIN_PATH, "
                         "then the plugin directory of the installation), whether it loaded, why not, and the "
                         "components each provides.\n";
    return 0;
  }
  // Duplicate names are fatal, but the listing is how one finds them: show it, then fail.
  std::string duplicates;
  try {
    core::Registry::global(ctx.plugin_paths);
  } catch (const PluginError& e) {
    duplicates = e.what();
  }
  auto& reg = core::Registry::global();
  std::cout << "plugin search path:\n";
  for (const auto& dir : reg.search_path())
    std::cout << "  " << dir << (std::filesystem::is_directory(dir) ? "" : "  (missing)") << "\n";
  if (reg.search_path().empty()) std::cout << "  (empty)\n";

  std::vector<std::string> builtin;
  for (auto k : kKinds)
    for (const auto& name : reg.names(k))
      if (auto e = find_entry(reg, k, name); e && e->plugin_file.empty())
        builtin.push_back(cat(kind_name(k), ":", name));
  std::cout << "\nbuilt into graft core:\n  " << (builtin.empty() ? "(nothing)" : join(builtin, ", ")) << "\n";

  size_t loaded = 0, skipped = 0;
  std::cout << "\nplugins:\n";
  for (const auto& rec : reg.plugins()) {
    if (rec.loaded) {
      ++loaded;
      std::cout << "  loaded   " << rec.id << " " << rec.version << "  (" << rec.kind << ")  " << rec.file << "\n"
                << "           " << rec.summary << "\n"
                << "           provides: " << join(rec.components, ", ") << "\n";
    } else {
      ++skipped;
      std::cout << "  skipped  " << (rec.id.empty() ? "" : rec.id + " ") << rec.file << "\n"
                << "           reason: " << rec.reason << "\n";
    }
  }
  if (reg.plugins().empty()) std::cout << "  (no plugin files found)\n";
  std::cout << "\n" << loaded << " loaded, " << skipped << " skipped\n";
  if (!duplicates.empty()) throw PluginError(duplicates);
  return 0;
}

int plugins_info(CliContext& ctx, const std::vector<std::string>& args) {
  po::options_description desc("usage: graft plugins info NAME [--kind KIND]\n\noptions");
  std::string name, kind;
  desc.add_options()("help,h", "this text")("name", po::value(&name), "component name")(
      "kind", po::value(&kind), "language_model | tokenizer | processor | head | metric (when a name is used by "
                                "several kinds)");
  po::positional_options_description pos;
  pos.add("name", 1);
  auto vm = parse(args, desc, pos);
  if (vm.count("help")) {
    std::cout << desc << "\nShows a component's kind, plugin, summary and every option with its type, default, "
                         "documentation and constraints.\n";
    return 0;
  }
  if (name.empty()) throw ConfigError(cat("graft plugins info: missing NAME\n", desc));
  auto& reg = core::Registry::global(ctx.plugin_paths);
  std::vector<EntryView> found;
  std::vector<std::string> all;
  for (auto k : kKinds) {
    if (!kind.empty() && kind != kind_name(k)) continue;
    if (auto e = find_entry(reg, k, name)) found.push_back(std::move(*e));
    for (const auto& n : reg.names(k)) all.push_back(n);
  }
  if (!kind.empty() && std::none_of(std::begin(kKinds), std::end(kKinds), [&](ComponentKind k) { return kind == kind_name(k); }))
    throw ConfigError(cat("--kind '", kind, "' is not one of: language_model, tokenizer, processor, head, metric"));
  if (found.empty()) {
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    std::string msg = cat("no component named '", name, "'");
    std::string guess = core::did_you_mean(name, all);
    if (!guess.empty()) msg += cat("; did you mean '", guess, "'?");
    msg += cat(" (known: ", all.empty() ? "none" : join(all, ", "), "); `graft plugins list` shows what was loaded");
    throw ConfigError(msg);
  }
  bool first = true;
  for (auto& e : found) {
    if (!first) std::cout << "\n";
    first = false;
    std::string version;
    for (const auto& rec : reg.plugins())
      if (rec.file == e.plugin_file) version = rec.version;
    std::cout << kind_name(e.kind) << " " << e.name << "\n  " << e.summary << "\n";
    std::cout << "  plugin: " << e.plugin_id << (version.empty() ? "" : " " + version)
              << (e.plugin_file.empty() ? " (built into graft core)" : "  " + e.plugin_file) << "\n";
    if (!e.aliases.empty()) std::cout << "  aliases: " << join(e.aliases, ", ") << "\n";
    if (!e.hf_names.empty())
      std::cout << (e.kind == ComponentKind::language_model ? "  config.json model_type: " : "  HF architectures: *")
                << join(e.hf_names, e.kind == ComponentKind::language_model ? ", " : ", *") << "\n";
    auto schema = core::describe_options(*e.options);
    std::cout << "options:" << (schema.empty() ? " (none)" : "") << "\n";
    for (const auto& f : schema) {
      std::cout << "  " << f.key << " (" << f.type;
      if (f.required) std::cout << ", required";
      else if (!f.default_value.is_null()) std::cout << ", default " << f.default_value.dump_json();
      std::cout << ")\n";
      if (!f.doc.empty()) std::cout << "      " << f.doc << "\n";
      if (auto c = constraint_text(f); !c.empty()) std::cout << "      " << c << "\n";
    }
  }
  return 0;
}

int plugins_command(CliContext& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "usage: graft plugins list            every plugin file found, loaded or skipped (with the reason)\n"
      "       graft plugins info NAME       a component's kind, plugin, summary and options\n";
  if (args.empty()) {
    std::cerr << usage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list") return plugins_list(ctx, rest);
  if (args[0] == "info") return plugins_info(ctx, rest);
  throw ConfigError(cat("graft plugins: unknown subcommand '", args[0], "'\n", usage));
}

}  // namespace
}  // namespace graft::cli

GRAFT_CLI_COMMAND("plugins", "list plugins, show a component's options", graft::cli::plugins_command);
