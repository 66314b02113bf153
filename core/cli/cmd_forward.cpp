// graft forward MODEL_DIR --inputs IN.safetensors --out OUT.safetensors
// Runs an HF model directory on fixed inputs and writes every output as named tensors, in the
// layout of the golden fixtures' reference.safetensors (for checking against other stacks).
#include "cli.h"

#include <graft/core/hub.h>
#include <graft/core/adaptive_model.h>
#include <graft/core/model_loader.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/core/weights.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/prediction_head.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <optional>
#include <iostream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

int run_forward(CliContext& ctx, const std::vector<std::string>& args) {
  std::string model_dir, inputs_path, out_path, dtype = "fp32", weights_file;
  bool no_hidden = false, no_attentions = false;
  po::options_description visible(
      "usage: graft forward MODEL_DIR --inputs IN.safetensors --out OUT.safetensors\n\n"
      "Runs the model in MODEL_DIR (config.json + model.safetensors | pytorch_model.bin | sharded index)\n"
      "in eval mode on the tensors input.input_ids, input.attention_mask (absent: all ones) and\n"
      "input.token_type_ids (absent: zeros) of IN, and writes output.last_hidden_state,\n"
      "output.pooler_output (where the checkpoint has a pooler), output.hidden_states.N,\n"
      "output.attentions.N and, for a *For<Task> checkpoint whose head a plugin provides\n"
      "(ForSequenceClassification, ForMaskedLM, ForPreTraining, ...), output.logits to OUT.\n"
      "Outputs are written as float32 whatever --dtype computed them in.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("inputs", po::value(&inputs_path)->value_name("FILE"), "safetensors file with input.* tensors")
      ("out", po::value(&out_path)->value_name("FILE"), "safetensors file to write (atomically)")
      ("no-hidden-states", po::bool_switch(&no_hidden), "do not write output.hidden_states.N")
      ("no-attentions", po::bool_switch(&no_attentions), "do not write output.attentions.N")
      ("dtype", po::value(&dtype)->value_name("fp32|bf16|fp16"),
       "compute precision: fp32 (default), or bf16 / fp16 under autocast (fp16 needs CUDA); weights stay float32")
      ("weights", po::value(&weights_file)->value_name("FILE"),
       "weights file to load (default: model.safetensors, else the sharded index, else pytorch_model.bin)");
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
    throw ConfigError(cat("graft forward: ", e.what(), " (see graft forward --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (model_dir.empty()) throw ConfigError("graft forward: MODEL_DIR is required (see graft forward --help)");
  if (inputs_path.empty()) throw ConfigError("graft forward: --inputs FILE is required");
  if (out_path.empty()) throw ConfigError("graft forward: --out FILE is required");

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  const torch::Device device = core::resolve_device(ctx.runtime.device);
  torch::NoGradGuard no_grad;

  core::check_precision(dtype, device);
  core::LoadPretrainedOptions lopts;
  lopts.weights_file = weights_file;
  core::LoadedModel loaded = core::load_pretrained(core::hub::resolve_if_hub_id(model_dir), registry, lopts);
  loaded.model->to(device);

  core::StateDict inputs = core::read_safetensors(inputs_path);
  Batch batch;
  const torch::Tensor& ids = inputs.at("input.input_ids");
  if (ids.dim() != 2 || ids.scalar_type() != torch::kLong)
    throw FormatError(cat(inputs_path, ": tensor 'input.input_ids' must be I64 [batch, seq_len], found ",
                          c10::toString(ids.scalar_type()), " ", ids.sizes()));
  batch.tensors["input_ids"] = ids.to(device);
  for (const char* name : {"attention_mask", "token_type_ids"}) {
    const std::string key = cat("input.", name);
    if (const torch::Tensor* t = inputs.find(key)) {
      if (t->sizes() != ids.sizes())
        throw FormatError(cat(inputs_path, ": tensor '", key, "' has shape ", t->sizes(), " but input.input_ids has ",
                              ids.sizes()));
      batch.tensors[name] = t->to(torch::kLong).to(device);
    } else {
      batch.tensors[name] = std::string(name) == "attention_mask" ? torch::ones_like(batch.tensors["input_ids"])
                                                                  : torch::zeros_like(batch.tensors["input_ids"]);
    }
  }

  ForwardOptions fo;
  fo.output_hidden_states = !no_hidden;
  fo.output_attentions = !no_attentions;
  std::optional<core::AutocastGuard> autocast;
  autocast.emplace(dtype, device);
  LMOutput lm = loaded.model->forward(batch, fo);

  core::StateDict out;
  auto put = [&](const std::string& name, const torch::Tensor& t) {
    torch::Tensor c = t.detach().to(torch::kCPU);
    if (c.is_floating_point()) c = c.to(torch::kFloat32);
    out.set(name, c.contiguous());
  };
  put("output.last_hidden_state", lm.sequence);
  bool pooler_missing = std::any_of(loaded.report.missing.begin(), loaded.report.missing.end(),
                                    [](const std::string& m) { return m.rfind("pooler.", 0) == 0; });
  if (lm.pooled.defined() && !pooler_missing) put("output.pooler_output", lm.pooled);
  for (size_t i = 0; i < lm.hidden_states.size(); ++i) put(cat("output.hidden_states.", i), lm.hidden_states[i]);
  for (size_t i = 0; i < lm.attentions.size(); ++i) put(cat("output.attentions.", i), lm.attentions[i]);

  const std::string suffix = loaded.architecture_suffix();
  if (!suffix.empty() && suffix != "Model") {
    auto head = core::load_hf_head(loaded, registry, "forward");
    if (!head) {
      log::warn("no plugin provides a head for ", suffix, "; output.logits is not written");
    } else {
      head->to(device);
      torch::Tensor logits = head->forward(lm, batch);
      if (suffix == "ForQuestionAnswering" && logits.dim() == 3 && logits.size(2) == 2) {
        // HF's QuestionAnsweringModelOutput: start_logits / end_logits [B, T]
        put("output.start_logits", logits.select(2, 0));
        put("output.end_logits", logits.select(2, 1));
      } else {
        put("output.logits", logits);
      }
    }
  }
  autocast.reset();
  core::write_safetensors(out_path, out);
  std::cout << "wrote " << out.size() << " tensors to " << out_path << "\n";
  return 0;
}

}  // namespace

GRAFT_CLI_COMMAND("forward", "run a model directory on input tensors and write every output (fixture layout)", run_forward);

}  // namespace graft::cli
