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
  v.optional("freeze_embeddings", freeze_embeddings, "never train the language model's embeddings");
  v.optional("freeze_layers", freeze_layers, "never train encoder layers 0..N-1 (counted from the input)",
             at_least(0));
  v.optional("freeze_language_model_steps", freeze_language_model_steps,
             "train only the heads for the first N optimizer steps, then the whole model", at_least(0));
}

void OptimizerSection::visit(OptionVisitor& v) {
  v.optional("type", type,
             "adamw (torch), hf_adamw (transformers AdamW), bert_adamw (transformers AdamW without bias "
             "correction: FARM's default), adam (L2 decay), sgd, lamb",
             one_of({"adamw", "hf_adamw", "bert_adamw", "adam", "sgd", "lamb"}));
  v.optional("lr", lr, "peak learning rate", at_least(0.0));
  v.optional("weight_decay", weight_decay, "decoupled weight decay (not applied to biases and LayerNorm)",
             at_least(0.0));
  v.optional("beta1", beta1, "Adam beta1", in_range(0.0, 1.0));
  v.optional("beta2", beta2, "Adam beta2", in_range(0.0, 1.0));
  v.optional("eps", eps, "Adam epsilon", at_least(0.0));
  v.optional("momentum", momentum, "SGD momentum", at_least(0.0));
  v.optional("nesterov", nesterov, "SGD: Nesterov momentum (needs momentum > 0)");
  v.optional("layer_decay", layer_decay,
             "layer-wise learning-rate decay: a parameter at depth d gets lr * layer_decay^(L + 1 - d) "
             "(embeddings d = 0, encoder layer N d = N + 1, pooler and heads d = L + 1); 1 = off",
             in_range(0.0, 1.0));
}

void ScheduleSection::visit(OptionVisitor& v) {
  v.optional("type", type, "learning-rate schedule after the linear warmup (transformers' formulas)",
             one_of({"constant", "linear", "cosine", "cosine_with_restarts", "polynomial", "inverse_sqrt"}));
  v.optional("warmup", warmup, "warmup: a fraction of all steps when < 1, else a number of steps", at_least(0.0));
  v.optional("num_cycles", num_cycles,
             "cosine: waves over the decay (0 = 0.5, from 1 down to 0); cosine_with_restarts: hard restarts "
             "(0 = 1)", at_least(0.0));
  v.optional("power", power, "polynomial: decay exponent", at_least(0.0));
  v.optional("lr_end", lr_end, "polynomial: learning rate reached at the last step (must be < optimizer.lr)",
             at_least(0.0));
  v.optional("timescale", timescale, "inverse_sqrt: lr * 1/sqrt((step + timescale - warmup) / timescale); 0 = "
             "the warmup steps (10000 without warmup)", at_least(0));
}

void CheckpointSection::visit(OptionVisitor& v) {
  v.optional("every", every, "save a checkpoint every N optimizer steps; 0 = only at the end and on a signal",
             at_least(0));
  v.optional("keep", keep, "checkpoints kept (oldest removed first)", at_least(1));
  v.optional("dir", dir, "checkpoint directory; empty = \"<output_dir>-checkpoints\"");
}

void TrackingSection::visit(OptionVisitor& v) {
  v.optional("mlflow", mlflow, "directory of an MLflow file store (relative to the recipe); empty = off");
  v.optional("experiment", experiment, "MLflow experiment name");
  v.optional("report", report, "write report.html with loss and metric curves into the output directory");
  v.optional("run_name", run_name, "MLflow run name; empty = run.name");
}

void DataSection::visit(OptionVisitor& v) {
  v.optional("cache", cache, "cache featurized data sets on disk (keyed by data, tokenizer and processor options)");
  v.optional("cache_dir", cache_dir,
             "feature cache directory (relative to the recipe); empty = $GRAFT_CACHE_DIR, else ~/.cache/graft/features");
  v.optional("threads", threads, "featurization threads; 0 = every available core", at_least(0));
}

void CrossValidationSection::visit(OptionVisitor& v) {
  v.optional("folds", folds, "k of k-fold cross-validation (each fold trains a fresh model); 0 = off", at_least(0));
  v.optional("stratified", stratified, "stratified folds: each fold keeps the label distribution");
  v.optional("holdout", holdout, "fraction of the training data held out as a fixed test set when no test file is given",
             in_range(0.0, 0.9));
}

}  // namespace graft::core
