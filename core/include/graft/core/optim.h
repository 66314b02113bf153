#pragma once
// Optimizers, learning-rate schedules, gradient clipping, the fp16 loss scaler, freezing and
// layer-wise learning-rate decay for the trainer.
//
//  * "adamw"      torch.optim.AdamW (1.13, single-tensor path): decoupled decay p *= 1 - lr*wd
//                 before the update, eps added after bias-correcting sqrt(v).
//  * "hf_adamw"   transformers 4.7.0 AdamW: eps added to sqrt(v) before bias correction, decay
//                 p -= lr*wd*p after the update.
//  * "bert_adamw" transformers AdamW with correct_bias=False (FARM's default, BERT's original
//                 BertAdam without warmup inside): no bias correction at all.
//  * "adam"       torch.optim.Adam with L2 weight decay (g += wd*p).
//  * "sgd"        torch.optim.SGD with momentum, Nesterov momentum and L2 weight decay.
//  * "lamb"       LAMB (You et al. 2019, Algorithm 2, with Adam's bias correction): per
//                 parameter u = m̂/(sqrt(v̂)+eps) + wd*p, p -= lr * (‖p‖/‖u‖) * u (ratio 1 when
//                 either norm is 0).
// Parameters split into two groups by HF's rule (no_decay_parameter): weight_decay for the
// rest, 0 for biases and LayerNorm parameters. Each parameter carries an lr multiplier
// (layer-wise decay).
#include <graft/core/recipe.h>

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
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
  bool decay = true;      ///< false: weight decay 0
  double lr_scale = 1.0;  ///< this parameter's learning rate = optimizer lr * lr_scale
};

/// Every trainable parameter of `module` with its decay flag (LayerNorm modules detected by type
/// and by name), in registration order.
std::vector<NamedParameter> decay_groups(torch::nn::Module& module);

// ---------------------------------------------------------------------------------------------
// Layers: depth of a parameter for freezing and layer-wise learning-rate decay

/// The encoder layer of a parameter name: N for a segment sequence "encoder.layer.N.",
/// "transformer.layer.N." (DistilBERT), "albert_layer_groups.N." (ALBERT) or "layers.N.";
/// nullopt otherwise.
std::optional<int64_t> encoder_layer_index(const std::string& name);
/// True for the language model's embeddings ("...embeddings..." segment, outside the layers).
bool is_embedding_parameter(const std::string& name);
/// Depth for layer-wise decay: embeddings 0, encoder layer N → N + 1, everything else (pooler,
/// heads under "heads.") → num_layers + 1.
int64_t parameter_depth(const std::string& name, int64_t num_layers);
/// Number of encoder layers seen in the names (max index + 1; 0 when none).
int64_t count_encoder_layers(const std::vector<NamedParameter>& params);
/// Sets lr_scale = decay^(num_layers + 1 - depth) on every parameter (decay in (0, 1]).
void apply_layer_decay(std::vector<NamedParameter>& params, double decay);

// ---------------------------------------------------------------------------------------------

class Optimizer {
 public:
  Optimizer(std::vector<NamedParameter> params, const OptimizerSection& options);
  virtual ~Optimizer();
  /// One update with the current learning rate; parameters without a gradient are skipped.
  void step();
  void zero_grad();
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  int64_t steps() const { return step_; }
  const std::vector<NamedParameter>& parameters() const { return params_; }
  /// Optimizer state tensors keyed "<param>.<slot>", plus "__step" — for checkpoints.
  std::map<std::string, torch::Tensor> state() const;
  /// Restores state() output. FormatError when a slot has the wrong shape or a parameter has
  /// some of its slots but not all.
  void load_state(const std::map<std::string, torch::Tensor>& state);

 protected:
  /// The per-parameter state slots this optimizer keeps ("exp_avg", "momentum_buffer", ...).
  virtual std::vector<std::string> slot_names() const = 0;
  /// Updates parameter i (its gradient is defined) with learning rate `lr` (lr_scale applied)
  /// and weight decay `wd` (0 for no-decay parameters), at step_ (already incremented).
  virtual void update(size_t i, const torch::Tensor& grad, double lr, double wd) = 0;
  /// Slot k of parameter i, created as zeros on first use.
  torch::Tensor& slot(size_t i, size_t k);
  bool has_slot(size_t i, size_t k) const;
  void set_slot(size_t i, size_t k, torch::Tensor t);

  std::vector<NamedParameter> params_;
  OptimizerSection opt_;
  double lr_ = 0.0;
  int64_t step_ = 0;

 private:
  std::vector<std::vector<torch::Tensor>> slots_;  ///< [param][slot]
};

/// ConfigError for an unknown type (naming the known ones) or invalid settings.
std::unique_ptr<Optimizer> make_optimizer(std::vector<NamedParameter> params, const OptimizerSection& options);

// ---------------------------------------------------------------------------------------------
// Schedules: pure functions of the optimizer step

/// Learning-rate multiplier at optimizer step `step` (0-based: the first update uses step 0),
/// transformers' formulas, each after a linear warmup from 0:
///   constant; linear (to 0 at total); cosine (num_cycles waves, default 0.5 = 1 → 0);
///   cosine_with_restarts (num_cycles hard restarts, default 1); polynomial ((1 - lr_end/lr) *
///   remaining^power + lr_end/lr; `base_lr` = optimizer lr); inverse_sqrt
///   (1/sqrt((step + timescale - warmup) / timescale)).
double schedule_factor(const ScheduleSection& schedule, int64_t step, int64_t warmup_steps, int64_t total_steps,
                       double base_lr);
/// The simple form for constant, linear and cosine with default settings.
double schedule_factor(const std::string& type, int64_t step, int64_t warmup_steps, int64_t total_steps);
/// `warmup` < 1 is a fraction of `total_steps` (floored, as FARM does), otherwise a step count.
int64_t warmup_steps(double warmup, int64_t total_steps);
/// Validates a schedule type; ConfigError naming the known ones.
void check_schedule_type(const std::string& type);
/// Validates every schedule setting against the optimizer's lr (polynomial needs lr_end < lr).
void check_schedule(const ScheduleSection& schedule, double base_lr);

/// torch.nn.utils.clip_grad_norm_ (1.13): total = L2 norm of the per-parameter gradient L2
/// norms; when max_norm > 0 gradients are scaled by min(1, max_norm / (total + 1e-6)).
/// Returns the total norm before clipping (inf/nan when a gradient is not finite).
double clip_grad_norm(const std::vector<NamedParameter>& params, double max_norm);

// ---------------------------------------------------------------------------------------------
// Dynamic loss scaling for fp16 (torch.cuda.amp.GradScaler semantics)

struct LossScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});
  /// loss * scale.
  torch::Tensor scale(const torch::Tensor& loss) const;
  /// Divides every defined gradient by the scale (once per step, before clipping). Returns
  /// true when any gradient holds inf or nan (the step must then be skipped).
  bool unscale(const std::vector<NamedParameter>& params);
  /// After the step: an overflow halves the scale (backoff) and resets the growth tracker;
  /// `growth_interval` clean steps in a row double it (growth).
  void update(bool found_inf);
  double current_scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  int64_t skipped_steps() const { return skipped_; }
  /// For checkpoints.
  void set_state(double scale, int64_t growth_tracker, int64_t skipped);

 private:
  LossScalerOptions opt_;
  double scale_;
  int64_t growth_tracker_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace graft::core
