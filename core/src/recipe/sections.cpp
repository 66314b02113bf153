// The recipe's own sections: their options are declared once, here, like any component's.
#include <graft/core/recipe.h>

namespace graft::core {

void RunSection::visit(OptionVisitor& v) {
  v.optional("name", name, "run name; replaces {name} in output_dir");
  v.optional("seed", seed, "random seed for weights, sampling and dropout", at_least(0));
  v.optional("output_dir", output_dir, "where the model, checkpoints and reports go; relative to the recipe");
  v.optional("device", device, "auto (CUDA when available), cpu, cuda or cuda:N");
  v.optional("threads", threads, "LibTorch threads; 0 = every available core (--threads wins)", at_least(0));
}

void LanguageModelSection::visit(OptionVisitor& v) {
  v.optional("checkpoint", checkpoint,
             "HF model directory (config.json + weights), relative to the recipe, or a hub id; empty = build "
             "from `config`");
  v.optional("type", type, "language model name in the registry; empty = from config.json model_type");
  v.optional("config", config, "config.json keys: the whole config for a model built from scratch, else overrides");
}

void TrainingSection::visit(OptionVisitor& v) {
  v.optional("epochs", epochs, "passes over the training data", at_least(1));
  v.optional("max_steps", max_steps, "stop after this many optimizer steps; 0 = no limit", at_least(0));
  v.optional("batch_size", batch_size, "samples per micro-batch", at_least(1));
  v.optional("eval_batch_size", eval_batch_size, "samples per evaluation batch; 0 = batch_size", at_least(0));
  v.optional("grad_accumulation", grad_accumulation, "micro-batches per optimizer step", at_least(1));
  v.optional("max_grad_norm", max_grad_norm, "gradient clipping norm; <= 0 disables clipping");
  v.optional("precision", precision, "compute precision", one_of({"fp32", "bf16", "fp16"}));
  v.optional("evaluate_every", evaluate_every, "evaluate on dev every N optimizer steps; 0 = once per epoch",
             at_least(0));
  v.optional("early_stopping", early_stopping,
             "table {metric = \"task/metric\", mode = \"max\"|\"min\", patience = 3, min_delta = 0.0, "
             "restore_best = true}; absent = no early stopping");
  v.optional("sampling", sampling, "how batches of several tasks are mixed",
             one_of({"proportional", "round_robin", "temperature"}));
  v.optional("log_every", log_every, "log the training loss every N optimizer steps; 0 = never", at_least(0));
  v.optional("progress", progress, "show a progress bar (only on a terminal)");
}

void OptimizerSection::visit(OptionVisitor& v) {
  v.optional("type", type, "optimizer", one_of({"adamw", "hf_adamw", "adam", "sgd"}));
  v.optional("lr", lr, "peak learning rate", at_least(0.0));
  v.optional("weight_decay", weight_decay, "decoupled weight decay (not applied to biases and LayerNorm)",
             at_least(0.0));
  v.optional("beta1", beta1, "Adam beta1", in_range(0.0, 1.0));
  v.optional("beta2", beta2, "Adam beta2", in_range(0.0, 1.0));
  v.optional("eps", eps, "Adam epsilon", at_least(0.0));
  v.optional("momentum", momentum, "SGD momentum", at_least(0.0));
}

void ScheduleSection::visit(OptionVisitor& v) {
  v.optional("type", type, "learning-rate schedule after warmup", one_of({"constant", "linear", "cosine"}));
  v.optional("warmup", warmup, "warmup: a fraction of all steps when < 1, else a number of steps", at_least(0.0));
}

void CheckpointSection::visit(OptionVisitor& v) {
  v.optional("every", every, "save a checkpoint every N optimizer steps; 0 = only at the end and on a signal",
             at_least(0));
  v.optional("keep", keep, "checkpoints kept (oldest removed first)", at_least(1));
}

void TrackingSection::visit(OptionVisitor& v) {
  v.optional("mlflow", mlflow, "directory of an MLflow file store (relative to the recipe); empty = off");
  v.optional("experiment", experiment, "MLflow experiment name");
  v.optional("report", report, "write report.html with loss and metric curves into the output directory");
}

}  // namespace graft::core
