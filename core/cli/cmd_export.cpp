// graft export --hf MODEL OUT [--dtype fp32|fp16|bf16] [--no-safetensors] [--no-bin] [--force]
// Writes Hugging Face checkpoint directories (config.json with architectures, model.safetensors,
// pytorch_model.bin, tokenizer files) that transformers' AutoModelFor<Task> loads as they are.
#include "cli.h"

#include <graft/core/hf_export.h>
#include <graft/core/model_dir.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <boost/program_options.hpp>

#include <iostream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

int run_export(CliContext& ctx, const std::vector<std::string>& args) {
  std::string model, out;
  core::HfExportOptions eo;
  po::options_description visible(
      "usage: graft export --hf MODEL OUT [--dtype fp32|fp16|bf16] [--no-safetensors] [--no-bin] [--force]\n\n"
      "Exports MODEL (a directory saved by graft train, a Hugging Face directory, or a hub id\n"
      "org/name[@revision]) to OUT in the Hugging Face layout: config.json (architectures,\n"
      "id2label/label2id, problem_type), model.safetensors, pytorch_model.bin and the tokenizer files.\n"
      "A single-task model becomes one <Family>For<Task> checkpoint; a model with several tasks\n"
      "becomes the language model (<Family>Model) in OUT plus OUT/<task>/ for every head that has a\n"
      "Hugging Face equivalent. Prints one line per directory written.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("hf", "Hugging Face transformers layout (the only export format; required)")
      ("dtype", po::value(&eo.dtype)->value_name("D"), "fp32 | fp16 | bf16: dtype of the floating-point weights (default fp32)")
      ("no-safetensors", "do not write model.safetensors")
      ("no-bin", "do not write pytorch_model.bin")
      ("no-tokenizer", "do not write the tokenizer files")
      ("force", "replace OUT when it exists and is not empty");
  po::options_description hidden;
  hidden.add_options()("model", po::value(&model), "model")("out", po::value(&out), "output directory");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("model", 1).add("out", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft export: ", e.what(), " (see graft export --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (!vm.count("hf")) throw ConfigError("graft export: choose the format with --hf (see graft export --help)");
  if (model.empty() || out.empty()) throw ConfigError("graft export: MODEL and OUT are required (see graft export --help)");
  eo.safetensors = !vm.count("no-safetensors");
  eo.pytorch_bin = !vm.count("no-bin");
  eo.tokenizer = !vm.count("no-tokenizer");
  eo.overwrite = vm.count("force") != 0;

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  core::ModelBundle bundle = core::load_model_dir(model, registry, torch::kCPU);
  core::HfExportResult r = core::export_hf(bundle, out, eo);
  for (const auto& d : r.dirs)
    std::cout << d.path << "\t" << d.architecture << (d.task.empty() ? "" : "\ttask " + d.task) << "\n";
  for (const auto& s : r.skipped) std::cout << "skipped\t" << s << "\n";
  return 0;
}

GRAFT_CLI_COMMAND("export", "write a model as Hugging Face checkpoint directories (--hf)", run_export);

}  // namespace
}  // namespace graft::cli
