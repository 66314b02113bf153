// graft train RECIPE [--set key=value]...
// Reads and validates the recipe, trains, evaluates, saves the model directory (with
// resolved_recipe.toml and metrics.json) and, when the recipe has [demo] predict = [...],
// prints the saved model's predictions for those texts.
#include "cli.h"

#include <graft/core/inferencer.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/core/trainer.h>
#include <graft/error.h>
#include <graft/log.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

int run_train(CliContext& ctx, const std::vector<std::string>& args) {
  std::string recipe_path;
  std::vector<std::string> sets;
  bool no_save = false;
  po::options_description visible(
      "usage: graft train RECIPE [--set key=value]...\n\n"
      "Trains the model a recipe describes: reads and validates the recipe, reads and featurizes\n"
      "the data, trains (evaluating on dev every training.evaluate_every steps and after each\n"
      "epoch, with early stopping when configured), evaluates on the test files, and saves the\n"
      "model directory to run.output_dir (config.json, model.safetensors, tokenizer files,\n"
      "graft.toml, resolved_recipe.toml, metrics.json). Metrics go to stdout as JSON, followed by\n"
      "the per-class reports. With [demo] predict = [\"...\"] the saved model is reloaded and its\n"
      "prediction for each text is printed.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("set", po::value(&sets)->value_name("KEY=VALUE")->composing(),
       "override a recipe value, e.g. --set training.epochs=2 (repeatable; VALUE is TOML)")
      ("no-save", po::bool_switch(&no_save), "do not write the model directory");
  po::options_description hidden;
  hidden.add_options()("recipe", po::value(&recipe_path), "recipe file");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("recipe", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft train: ", e.what(), " (see graft train --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (recipe_path.empty()) throw ConfigError("graft train: RECIPE is required (see graft train --help)");

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  core::Recipe recipe = core::load_recipe(recipe_path, sets, registry);
  if (ctx.runtime.threads == 0 && recipe.run.threads > 0) {
    core::RuntimeOptions ro = ctx.runtime;
    ro.threads = static_cast<int>(recipe.run.threads);
    core::init_runtime(ro);
  }
  const torch::Device device = core::resolve_device(ctx.runtime.device != "auto" ? ctx.runtime.device : recipe.run.device);
  log::info("run '", recipe.run.name, "' (seed ", recipe.run.seed, ") on ", device.str(), " with ", at::get_num_threads(),
            " threads");

  core::TrainingRun run = core::train_recipe(recipe, registry, device, !no_save);
  Value summary = Value::object();
  summary.set("dev", run.result.dev_metrics);
  summary.set("test", run.result.test_metrics);
  summary.set("steps", static_cast<int64_t>(run.result.steps.size()));
  summary.set("seconds", run.result.seconds);
  if (!run.output_dir.empty()) summary.set("model_dir", run.output_dir);
  std::cout << summary.dump_json(2) << "\n";
  for (const auto& [task, report] : run.result.test_reports)
    if (!report.empty()) std::cout << "\n" << task << " (test)\n" << report;
  std::cout << std::flush;

  std::vector<std::string> demo_texts = recipe.demo.predict;
  if (demo_texts.empty())  // a reader that accepts [demo] without filling DemoSection
    if (const Value* d = recipe.raw.find("demo"); d && d->find("predict") && d->at("predict").is_array())
      for (const auto& t : d->at("predict").as_array())
        if (t.is_string()) demo_texts.push_back(t.as_string());
  if (!demo_texts.empty()) {
    GRAFT_CHECK(!run.output_dir.empty(), ConfigError, "[demo] predict needs the saved model (drop --no-save)");
    core::InferOptions io;
    io.precision = recipe.training.precision;
    auto inf = core::Inferencer::load(run.output_dir, registry, device, io);
    auto preds = inf.infer_texts(demo_texts);
    std::cout << "\npredictions of the saved model (" << run.output_dir << "):\n";
    for (size_t i = 0; i < preds.size(); ++i) {
      const Value& p = preds[i];
      if (p.contains("label") && p.contains("probability")) {
        char prob[32];
        std::snprintf(prob, sizeof prob, "%.3f", p.at("probability").as_double());
        std::cout << "  " << p.at("label").dump_json() << " (" << prob << ")  " << demo_texts[i] << "\n";
      } else {
        std::cout << "  " << p.dump_json() << "  " << demo_texts[i] << "\n";
      }
    }
  }
  return 0;
}

GRAFT_CLI_COMMAND("train", "train a model from a recipe, evaluate it and save it", run_train);

}  // namespace
}  // namespace graft::cli
