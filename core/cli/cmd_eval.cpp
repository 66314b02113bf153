// graft eval MODEL --data FILE [--task NAME] [--metric NAME]...
// Evaluates a saved model directory (or a plain HF *For<Task> checkpoint) on a labelled file
// read by the task's processor; prints the metrics as JSON and the metrics' reports.
#include "cli.h"

#include <graft/core/data_silo.h>
#include <graft/core/evaluator.h>
#include <graft/core/model_dir.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/error.h>

#include <boost/program_options.hpp>

#include <iostream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

int run_eval(CliContext& ctx, const std::vector<std::string>& args) {
  std::string model_dir, data, task, precision = "fp32";
  std::vector<std::string> metric_names;
  int64_t batch_size = 32;
  po::options_description visible(
      "usage: graft eval MODEL --data FILE [--task NAME] [--metric NAME]...\n\n"
      "Evaluates MODEL (a directory saved by graft train, or a Hugging Face *For<Task> checkpoint)\n"
      "on the labelled FILE, read with the task's processor (same columns as in training).\n"
      "Prints {\"task/metric\": value, ...} as JSON on stdout, then the metrics' reports.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("data", po::value(&data)->value_name("FILE"), "labelled data file")
      ("task", po::value(&task)->value_name("NAME"), "task to evaluate (needed when the model has several)")
      ("metric", po::value(&metric_names)->value_name("NAME")->composing(),
       "metric (repeatable); default: the metrics saved with the model")
      ("batch-size", po::value(&batch_size)->value_name("N"), "rows per batch (default 32)")
      ("precision", po::value(&precision)->value_name("P"), "fp32 | bf16 (default fp32)");
  po::options_description hidden;
  hidden.add_options()("model", po::value(&model_dir), "model directory");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft eval: ", e.what(), " (see graft eval --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (model_dir.empty()) throw ConfigError("graft eval: MODEL is required (see graft eval --help)");
  if (data.empty()) throw ConfigError("graft eval: --data FILE is required (see graft eval --help)");
  if (batch_size < 1) throw ConfigError(cat("graft eval: --batch-size must be >= 1, got ", batch_size));

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  const torch::Device device = core::resolve_device(ctx.runtime.device);
  core::check_precision(precision, device);
  core::ModelBundle bundle = core::load_model_dir(model_dir, registry, device);
  const core::TaskSpec& spec = bundle.task(task);
  if (metric_names.empty()) metric_names = spec.metrics;
  if (metric_names.empty())
    throw ConfigError(cat("graft eval: the model has no saved metrics for task '", spec.name,
                          "'; name them with --metric (known: ", [&] {
                            std::string s;
                            for (const auto& n : registry.names(ComponentKind::metric)) s += (s.empty() ? "" : ", ") + n;
                            return s;
                          }(), ")"));
  auto metrics = core::make_metrics(metric_names, registry);

  bundle.require_tokenizer();
  core::DataSilo silo(bundle.tokenizer, core::SiloOptions{"", 42, 0, false});
  Processor& proc = bundle.processor(spec.name);
  int64_t skipped = 0;
  auto baskets = silo.load_file(proc, data, &skipped);
  core::Evaluator ev(*bundle.model, *bundle.tokenizer, core::PredictOptions{batch_size, precision, false});
  ev.set_metrics(spec.name, metrics);
  auto res = ev.evaluate(spec.name, proc, baskets, /*with_report=*/true);
  res.metrics.set(spec.name + "/records", static_cast<int64_t>(baskets.size()));
  if (skipped > 0) res.metrics.set(spec.name + "/skipped", skipped);
  std::cout << res.metrics.dump_json(2) << "\n";
  if (!res.report.empty()) std::cout << "\n" << res.report;
  return 0;
}

GRAFT_CLI_COMMAND("eval", "evaluate a saved model on a labelled file", run_eval);

}  // namespace
}  // namespace graft::cli
