#pragma once
// AdaptiveModel: one LanguageModel plus prediction heads keyed by task name.
// Parameter names: "<base_model_prefix>.<lm param>" and "heads.<task>.<head param>".
#include <graft/language_model.h>
#include <graft/prediction_head.h>
#include <graft/types.h>

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft::core {

struct TaskHead {
  std::string task;
  std::shared_ptr<PredictionHead> head;
  double loss_weight = 1.0;
};

/// RAII: CPU (or CUDA) autocast to bfloat16 while alive when `enabled`; restores the previous
/// state (enabled flag, dtype, cache) on destruction. "fp32" → no-op.
class AutocastGuard {
 public:
  AutocastGuard(const std::string& precision, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

/// ConfigError for anything but fp32 | bf16 (fp16 only on CUDA).
void check_precision(const std::string& precision, const torch::Device& device);

class AdaptiveModel : public torch::nn::Module {
 public:
  AdaptiveModel(std::shared_ptr<LanguageModel> lm, std::vector<TaskHead> heads);

  struct Output {
    LMOutput lm;
    std::map<std::string, torch::Tensor> logits;  ///< task → logits
  };
  /// Runs the LM once and the heads of `tasks` (all heads when empty).
  Output forward(const Batch& batch, const std::vector<std::string>& tasks = {});
  /// Σ_task loss_weight × mean(head.loss) over the tasks present in `out.logits`.
  /// `per_task` (optional) receives each task's mean loss (detached, as double).
  torch::Tensor loss(const Output& out, const Batch& batch, std::map<std::string, double>* per_task = nullptr);

  LanguageModel& language_model() { return *lm_; }
  std::shared_ptr<LanguageModel> language_model_ptr() const { return lm_; }
  PredictionHead& head(const std::string& task);
  const std::vector<TaskHead>& heads() const { return heads_; }
  std::vector<std::string> task_names() const;
  bool has_task(const std::string& task) const;

  /// Moves parameters and remembers the device.
  void to_device(const torch::Device& device);
  const torch::Device& device() const { return device_; }

  /// Every parameter/buffer as (name, tensor) in the HF layout: LM keys under the LM's
  /// base_model_prefix; head keys as the head names them for a single task (HF
  /// *For<Task>), "heads.<task>.<key>" with several tasks.
  std::vector<std::pair<std::string, torch::Tensor>> export_state() const;
  /// Deep copy of every parameter and buffer (for restoring the best weights).
  std::map<std::string, torch::Tensor> snapshot() const;
  void restore(const std::map<std::string, torch::Tensor>& snapshot);

 private:
  std::shared_ptr<LanguageModel> lm_;
  std::vector<TaskHead> heads_;
  std::shared_ptr<torch::nn::Module> heads_holder_;
  torch::Device device_{torch::kCPU};
};

}  // namespace graft::core
