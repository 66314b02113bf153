#pragma once
// Training checkpoints: everything needed to continue a run exactly where it stopped.
//
// A checkpoint is a directory "<checkpoint dir>/step-<8 digits>/" holding
//   model files        the model (a full model directory when written by train_recipe:
//                      config.json, model.safetensors, tokenizer files, graft.toml)
//   optimizer.safetensors   every optimizer slot ("<param>.exp_avg", ...) and "__step"
//   rng.safetensors         torch CPU generator state ("torch_cpu"), CUDA ones ("torch_cuda_<i>")
//   sampler.safetensors     the current epoch's batch plan: "rows" [R, 4] = (batch, task,
//                           basket, sample) and "sizes" [T] = training samples per task
//   best.safetensors        early stopping's best weights (when kept)
//   trainer_state.json      step, epoch, position, micro-step, schedule, early stopping,
//                           loss scaler, tracking run id, history
//   resolved_recipe.toml    the recipe of the run
//   checkpoint.json         written last: format, step, and each file's size and hash
// It is built in a hidden temp directory beside it, fsynced and renamed into place, so a
// kill at any moment leaves the previous checkpoints intact. `keep` newest are kept.
#include <graft/value.h>

#include <torch/torch.h>

#include <csignal>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace graft::core {

/// Name of the checkpoint directory of `step` ("step-00000012").
std::string checkpoint_name(int64_t step);

/// Writes a manifest (checkpoint.json) over every regular file under `dir` (recursively):
/// size and a 64-bit content hash, plus `info` (an object) under "info".
void write_checkpoint_manifest(const std::string& dir, int64_t step, const Value& info = Value::object());
/// Checks a checkpoint directory against its manifest. Returns "" when it is complete, else
/// the reason ("checkpoint.json is missing", "model.safetensors has 12 bytes, expected 4096", ...).
/// `verify_hashes` re-reads every file (slower, catches bit rot).
std::string verify_checkpoint(const std::string& dir, bool verify_hashes = true);

/// The checkpoints under `root` ("step-*" directories; hidden temp dirs ignored), oldest first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& root);
/// The newest complete checkpoint under `root`; incomplete or corrupt ones are skipped with a
/// warning naming the directory and the reason. ConfigError when there is none.
std::string latest_checkpoint(const std::string& root);
/// `spec` = "latest" → latest_checkpoint(root); otherwise a checkpoint directory, verified
/// (ConfigError naming it and the reason when incomplete).
std::string resolve_resume(const std::string& spec, const std::string& root);
/// Removes all but the `keep` newest checkpoints under `root`, and temp directories of
/// processes that are no longer running.
void prune_checkpoints(const std::string& root, int64_t keep);
/// Renames a finished temp directory into `final_dir` (fsyncing files and directories).
void commit_checkpoint(const std::string& temp_dir, const std::string& final_dir);

/// Torch RNG states (CPU default generator, each CUDA device's when CUDA is available).
std::map<std::string, torch::Tensor> rng_state();
/// Restores rng_state() output. FormatError when the CPU state is missing; CUDA states are
/// restored for the devices present (a warning when the counts differ).
void set_rng_state(const std::map<std::string, torch::Tensor>& state);

/// Requests to stop (SIGTERM, SIGINT) received while a SignalGuard was alive. The training
/// loop polls it between optimizer steps; a second signal ends the process at once (exit
/// status 128 + signal number) — the previous checkpoint is intact either way.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  /// The first signal received (0 = none).
  static int pending();
  /// Forgets a pending signal (tests).
  static void clear();
  /// Test hook: behave as if `sig` had been received.
  static void raise_for_test(int sig);

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

/// Exit status of `graft train` after it was stopped by a signal and wrote a checkpoint.
constexpr int kExitInterrupted = 5;

}  // namespace graft::core
