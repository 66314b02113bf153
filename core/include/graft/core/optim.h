#pragma once
// Optimizers, learning-rate schedules and gradient clipping for the trainer.
//
//  * "adamw"    torch.optim.AdamW (1.13, single-tensor path): decoupled decay p *= 1 - lr*wd
//               before the update, eps added after bias-correcting sqrt(v).
//  * "hf_adamw" transformers 4.7.0 AdamW (FARM's default): eps added to sqrt(v) before bias
//               correction, decay p -= lr*wd*p after the update.
//  * "adam"     torch.optim.Adam with L2 weight decay (g += wd*p).
//  * "sgd"      torch.optim.SGD with momentum and L2 weight decay.
// Parameters split into two groups by HF's rule (no_decay_parameter): weight_decay for the
// rest, 0 for biases and LayerNorm parameters.
#include <graft/core/recipe.h>

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace graft::core {

/// HF Trainer.create_optimizer rule: true for parameters whose name contains "bias" or that
/// belong to a LayerNorm module (`in_layer_norm`, or a name segment spelled LayerNorm /
/// layer_norm / layernorm / ln when the module type is unknown).
bool no_decay_parameter(const std::string& name, bool in_layer_norm = false);

struct NamedParameter {
  std::string name;
  torch::Tensor param;
  bool decay = true;  ///< false: weight decay 0
};

/// Every trainable parameter of `module` with its decay flag (LayerNorm modules detected by type
/// and by name), in registration order.
std::vector<NamedParameter> decay_groups(torch::nn::Module& module);

class Optimizer {
 public:
  Optimizer(std::vector<NamedParameter> params, const OptimizerSection& options);
  virtual ~Optimizer();
  /// One update with the current learning rate; parameters without a gradient are skipped.
  virtual void step() = 0;
  void zero_grad();
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  int64_t steps() const { return step_; }
  const std::vector<NamedParameter>& parameters() const { return params_; }
  /// Optimizer state tensors (moments) keyed "<param>.<slot>", plus "__step" — for checkpoints.
  virtual std::map<std::string, torch::Tensor> state() const = 0;
  virtual void load_state(const std::map<std::string, torch::Tensor>& state) = 0;

 protected:
  std::vector<NamedParameter> params_;
  OptimizerSection opt_;
  double lr_ = 0.0;
  int64_t step_ = 0;
};

/// ConfigError for an unknown type (naming the known ones).
std::unique_ptr<Optimizer> make_optimizer(std::vector<NamedParameter> params, const OptimizerSection& options);

/// Learning-rate multiplier at optimizer step `step` (0-based: the first update uses step 0),
/// HF semantics: "constant" (with linear warmup when warmup_steps > 0), "linear"
/// (get_linear_schedule_with_warmup), "cosine" (get_cosine_schedule_with_warmup, half a cycle).
double schedule_factor(const std::string& type, int64_t step, int64_t warmup_steps, int64_t total_steps);
/// `warmup` < 1 is a fraction of `total_steps` (floored, as FARM does), otherwise a step count.
int64_t warmup_steps(double warmup, int64_t total_steps);
/// Validates a schedule type; ConfigError naming the known ones.
void check_schedule_type(const std::string& type);

/// torch.nn.utils.clip_grad_norm_ (1.13): total = L2 norm of the per-parameter gradient L2
/// norms; when max_norm > 0 gradients are scaled by min(1, max_norm / (total + 1e-6)).
/// Returns the total norm before clipping.
double clip_grad_norm(const std::vector<NamedParameter>& params, double max_norm);

}  // namespace graft::core
