// graft recipe check | show | docs: validate a recipe, print it resolved, print the reference.
#include "cli.h"

#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <boost/program_options.hpp>

#include <iostream>

namespace po = boost::program_options;

namespace graft::cli {
namespace {

const char* kUsage =
    "usage: graft recipe check RECIPE [--set KEY=VALUE]...   validate; prints \"ok\" or every problem (exit 2)\n"
    "       graft recipe show RECIPE [--set KEY=VALUE]...    the recipe with every default filled in (TOML)\n"
    "       graft recipe docs [--output FILE]                 Markdown reference of every section and component\n"
    "\n"
    "--set KEY=VALUE overrides one key before validation. KEY is a dotted path with [N] for array\n"
    "elements (training.epochs=2, tasks[0].head.dropout=0.2, run.name=demo); VALUE is parsed as a\n"
    "TOML value (numbers, true/false, \"strings\", [arrays], { inline = \"tables\" }); anything else\n"
    "is taken as a string.\n";

struct Parsed {
  std::string recipe, output;
  std::vector<std::string> sets;
  bool help = false;
};

Parsed parse(const std::string& sub, const std::vector<std::string>& args, bool wants_recipe) {
  Parsed p;
  po::options_description desc(cat("graft recipe ", sub, " options"));
  desc.add_options()("help,h", "this text");
  if (wants_recipe)
    desc.add_options()("set", po::value(&p.sets)->composing(), "KEY=VALUE override (repeatable)")(
        "recipe", po::value(&p.recipe), "recipe file");
  else
    desc.add_options()("output,o", po::value(&p.output), "write to FILE instead of stdout");
  po::positional_options_description pos;
  if (wants_recipe) pos.add("recipe", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft recipe ", sub, ": ", e.what(), "\n", kUsage));
  }
  p.help = vm.count("help") > 0;
  if (!p.help && wants_recipe && p.recipe.empty())
    throw ConfigError(cat("graft recipe ", sub, ": missing RECIPE\n", kUsage));
  return p;
}

int recipe_command(CliContext& ctx, const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string sub = args[0];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (sub == "check" || sub == "show") {
    Parsed p = parse(sub, rest, true);
    if (p.help) {
      std::cout << kUsage;
      return 0;
    }
    auto& reg = core::Registry::global(ctx.plugin_paths);
    core::Recipe recipe = core::load_recipe(p.recipe, p.sets, reg);
    if (sub == "check") {
      std::cout << "ok\n";
    } else {
      std::cout << core::to_toml(core::resolved_recipe(recipe, reg));
    }
    return 0;
  }
  if (sub == "docs") {
    Parsed p = parse(sub, rest, false);
    if (p.help) {
      std::cout << kUsage;
      return 0;
    }
    auto& reg = core::Registry::global(ctx.plugin_paths);
    std::string md = core::recipe_reference_markdown(reg);
    if (p.output.empty()) std::cout << md;
    else core::write_file_atomic(p.output, md);
    return 0;
  }
  throw ConfigError(cat("graft recipe: unknown subcommand '", sub, "'\n", kUsage));
}

}  // namespace
}  // namespace graft::cli

GRAFT_CLI_COMMAND("recipe", "validate a recipe, show it resolved, print the reference", graft::cli::recipe_command);
