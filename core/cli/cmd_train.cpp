// graft train RECIPE [--set key=value]... [--resume latest|DIR] [--dry-run]
// Reads and validates the recipe, trains (checkpointing, resuming), evaluates, saves the model
// directory (with resolved_recipe.toml and metrics.json) and, when the recipe has [demo]
// predict = [...], prints the saved model's predictions for those texts.
#include "cli.h"

#include <graft/core/data_root.h>
#include <graft/core/checkpoint.h>
#include <graft/core/inferencer.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/core/trainer.h>
#include <graft/core/cross_validation.h>
#include <graft/error.h>
#include <graft/log.h>

#include <boost/program_options.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

int run_train(CliContext& ctx, const std::vector<std::string>& args) {
  std::string recipe_path;
  std::vector<std::string> sets;
  bool no_save = false, dry_run = false;
  std::string resume, data_dir;
  po::options_description visible(
      "usage: graft train RECIPE [--set key=value]... [--resume latest|DIR] [--dry-run]\n\n"
      "Trains the model a recipe describes: reads and validates the recipe, reads and featurizes\n"
      "the data, trains (evaluating on dev every training.evaluate_every steps and after each\n"
      "epoch, with early stopping when configured), evaluates on the test files, and saves the\n"
      "model directory to run.output_dir (config.json, model.safetensors, tokenizer files,\n"
      "graft.toml, resolved_recipe.toml, metrics.json). Metrics go to stdout as JSON, followed by\n"
      "the per-class reports. With [demo] predict = [\"...\"] the saved model is reloaded and its\n"
      "prediction for each text is printed.\n\n"
      "Checkpoints go to [checkpoint] dir (default \"<output_dir>-checkpoints\"): every\n"
      "[checkpoint] every steps, at the end when that is set, and on SIGTERM/SIGINT — the current\n"
      "optimizer step is finished, a checkpoint written and graft exits with status 5 (a second\n"
      "signal stops at once). --resume continues a run exactly (weights, optimizer, schedule,\n"
      "RNG, data order and position, early stopping).\n\n"
      "Featurized data is cached ([data] cache, cache_dir; default ~/.cache/graft/features) and\n"
      "reused while data files, tokenizer files and processor options are unchanged. [tracking]\n"
      "mlflow = DIR logs the run to an MLflow file store; report.html (curves, per-class table,\n"
      "confusion matrix, recipe) is written into the output directory. [cross_validation] folds = k\n"
      "trains one model per fold and prints per-fold metrics with their mean and std (written to\n"
      "<output_dir>/cross_validation.json); holdout = f splits a test set off the training data.\n\n"
      "The progress bar shows epoch, step, loss, learning rate, samples/s, tokens/s and ETA (log\n"
      "lines every training.log_every steps when stderr is not a terminal); --log-level debug or\n"
      "trace (a global option) adds detail.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("set", po::value(&sets)->value_name("KEY=VALUE")->composing(),
       "override a recipe value, e.g. --set training.epochs=2 (repeatable; VALUE is TOML)")
      ("data-dir", po::value(&data_dir)->value_name("DIR"),
       "data root: relative data paths of the tasks' processors that are not found next to the recipe are read "
       "from DIR, and \"{data}\" in recipe strings stands for it (default: $GRAFT_DATA)")
      ("no-save", po::bool_switch(&no_save), "do not write the model directory")
      ("resume", po::value(&resume)->value_name("latest|DIR"),
       "continue from the newest complete checkpoint of the run (latest) or from a checkpoint directory")
      ("dry-run", po::bool_switch(&dry_run),
       "build everything, run one optimizer step on the first training batches, report its time and the "
       "peak memory; nothing is written");
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

  if (!data_dir.empty()) core::set_data_root(data_dir);
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

  core::TrainRecipeOptions topts;
  topts.save = !no_save;
  topts.resume = resume;
  topts.dry_run = dry_run;
  if (dry_run && !resume.empty()) throw ConfigError("graft train: --dry-run and --resume cannot be combined");
  if (recipe.cross_validation.folds >= 2 && !dry_run) {  // [cross_validation]: one model per fold
    if (!resume.empty()) throw ConfigError("graft train: --resume does not apply to cross-validation runs");
    core::CrossValidationResult cv = core::cross_validate(recipe, registry, device, !no_save);
    Value out = cv.to_value();
    if (!cv.output_dir.empty()) out.set("output_dir", cv.output_dir);
    std::cout << out.dump_json(2) << "\n" << std::flush;
    return 0;
  }
  if (recipe.cross_validation.holdout > 0.0)
    topts.after_build = [&recipe](core::RecipeBuild& b) {
      core::apply_holdout(b, recipe.cross_validation, static_cast<uint64_t>(recipe.run.seed));
    };
  core::TrainingRun run = core::train_recipe(recipe, registry, device, topts);
  if (dry_run) {
    const auto& r = run.result;
    Value d = Value::object();
    d.set("dry_run", true);
    d.set("device", device.str());
    d.set("precision", recipe.training.precision);
    d.set("micro_batches", recipe.training.grad_accumulation);
    if (!r.steps.empty()) {
      d.set("samples", r.steps.front().samples);
      d.set("tokens", r.steps.front().tokens);
      d.set("loss", r.steps.front().loss);
    }
    d.set("step_seconds", r.dry_run_step_seconds);
    d.set("peak_rss_mb", static_cast<double>(r.peak_rss_bytes) / (1024.0 * 1024.0));
    log::info("dry run: one optimizer step took ", r.dry_run_step_seconds, " s; peak memory (RSS) ",
              r.peak_rss_bytes / (1024 * 1024), " MiB; nothing was written");
    std::cout << d.dump_json(2) << "\n" << std::flush;
    return 0;
  }
  if (run.result.interrupted) {
    std::cerr << "graft: stopped by " << (run.result.interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT")
              << " after step " << (run.result.steps.empty() ? 0 : run.result.steps.back().step)
              << "; checkpoint written to " << run.result.checkpoint << "\n"
              << "       continue with: graft train " << recipe_path << " --resume latest\n";
    return core::kExitInterrupted;
  }
  Value summary = Value::object();
  summary.set("dev", run.result.dev_metrics);
  summary.set("test", run.result.test_metrics);
  summary.set("steps", static_cast<int64_t>(run.result.steps.size()));
  summary.set("seconds", run.result.seconds);
  if (!run.output_dir.empty()) summary.set("model_dir", run.output_dir);
  if (!run.result.checkpoint.empty()) summary.set("checkpoint", run.result.checkpoint);
  if (run.result.resumed_from_step > 0) summary.set("resumed_from_step", run.result.resumed_from_step);
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
