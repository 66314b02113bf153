// Optimizers (torch AdamW, HF AdamW, BERT AdamW, Adam, SGD, LAMB), layer depths, schedules,
// gradient clipping and the fp16 loss scaler.
#include <graft/core/optim.h>
#include <graft/error.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace graft::core {

namespace {

bool has_layer_norm_segment(const std::string& name) {
  // name segments separated by '.'; a LayerNorm module is the segment before weight/bias
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    std::string seg = name.substr(start, end - start);
    std::string lower;
    for (char c : seg) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "layernorm" || lower == "layer_norm" || lower == "ln" || lower == "norm" ||
        (lower.size() > 10 && lower.find("layer_norm") != std::string::npos) ||
        (lower.size() > 9 && lower.find("layernorm") != std::string::npos))
      return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

bool no_decay_parameter(const std::string& name, bool in_layer_norm) {
  if (name.find("bias") != std::string::npos) return true;
  return in_layer_norm || has_layer_norm_segment(name);
}

std::vector<NamedParameter> decay_groups(torch::nn::Module& module) {
  std::set<const void*> layer_norm_params;
  auto note = [&](torch::nn::Module& m) {
    if (dynamic_cast<torch::nn::LayerNormImpl*>(&m) != nullptr)
      for (const auto& p : m.parameters(/*recurse=*/false)) layer_norm_params.insert(p.unsafeGetTensorImpl());
  };
  note(module);  // the module itself may live on the stack: no shared_from_this
  for (const auto& item : module.named_modules("", /*include_self=*/false)) note(*item.value());
  std::vector<NamedParameter> out;
  for (const auto& item : module.named_parameters()) {
    if (!item.value().requires_grad()) continue;
    bool in_ln = layer_norm_params.count(item.value().unsafeGetTensorImpl()) != 0;
    out.push_back(NamedParameter{item.key(), item.value(), !no_decay_parameter(item.key(), in_ln)});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Layers

namespace {

std::vector<std::string> split_dots(const std::string& name) {
  std::vector<std::string> segs;
  size_t start = 0;
  while (true) {
    size_t end = name.find('.', start);
    segs.push_back(name.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return segs;
}

bool all_digits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

std::optional<int64_t> encoder_layer_index(const std::string& name) {
  auto segs = split_dots(name);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const std::string& a = segs[i];
    if (i + 2 < segs.size() && a == "encoder" && segs[i + 1] == "layer" && all_digits(segs[i + 2]))
      return std::stoll(segs[i + 2]);
    if (i + 2 < segs.size() && a == "transformer" && segs[i + 1] == "layer" && all_digits(segs[i + 2]))
      return std::stoll(segs[i + 2]);
    if ((a == "albert_layer_groups" || a == "layers") && all_digits(segs[i + 1])) return std::stoll(segs[i + 1]);
  }
  return std::nullopt;
}

bool is_embedding_parameter(const std::string& name) {
  if (name.rfind("heads.", 0) == 0 || encoder_layer_index(name)) return false;
  for (const auto& s : split_dots(name))
    if (s == "embeddings" || s == "embedding") return true;
  return false;
}

int64_t parameter_depth(const std::string& name, int64_t num_layers) {
  if (name.rfind("heads.", 0) == 0) return num_layers + 1;
  if (auto l = encoder_layer_index(name)) return *l + 1;
  if (is_embedding_parameter(name)) return 0;
  return num_layers + 1;
}

int64_t count_encoder_layers(const std::vector<NamedParameter>& params) {
  int64_t n = 0;
  for (const auto& p : params)
    if (auto l = encoder_layer_index(p.name)) n = std::max(n, *l + 1);
  return n;
}

void apply_layer_decay(std::vector<NamedParameter>& params, double decay) {
  GRAFT_CHECK(decay > 0.0 && decay <= 1.0, ConfigError, "optimizer.layer_decay must be in (0, 1], got ", decay);
  const int64_t layers = count_encoder_layers(params);
  for (auto& p : params)
    p.lr_scale = decay == 1.0 ? 1.0 : std::pow(decay, static_cast<double>(layers + 1 - parameter_depth(p.name, layers)));
}

// ---------------------------------------------------------------------------------------------
// Optimizer base: state slots, lr multipliers, checkpoint state

Optimizer::~Optimizer() = default;

Optimizer::Optimizer(std::vector<NamedParameter> params, const OptimizerSection& options)
    : params_(std::move(params)), opt_(options), lr_(options.lr) {}

void Optimizer::zero_grad() {
  for (auto& p : params_) {
    auto& g = p.param.mutable_grad();
    if (g.defined()) {
      g.detach_();
      g.zero_();
    }
  }
}

torch::Tensor& Optimizer::slot(size_t i, size_t k) {
  auto& t = slots_[i][k];
  if (!t.defined()) t = torch::zeros_like(params_[i].param, at::MemoryFormat::Preserve);
  return t;
}

bool Optimizer::has_slot(size_t i, size_t k) const {
  return i < slots_.size() && k < slots_[i].size() && slots_[i][k].defined();
}

void Optimizer::set_slot(size_t i, size_t k, torch::Tensor t) { slots_[i][k] = std::move(t); }

void Optimizer::step() {
  torch::NoGradGuard ng;
  if (slots_.size() != params_.size()) slots_.assign(params_.size(), std::vector<torch::Tensor>(slot_names().size()));
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].param.grad();
    if (!g.defined()) continue;
    update(i, g, lr_ * params_[i].lr_scale, params_[i].decay ? opt_.weight_decay : 0.0);
  }
}

std::map<std::string, torch::Tensor> Optimizer::state() const {
  std::map<std::string, torch::Tensor> s;
  const auto names = slot_names();
  for (size_t i = 0; i < slots_.size(); ++i)
    for (size_t k = 0; k < names.size(); ++k)
      if (slots_[i][k].defined()) s[params_[i].name + "." + names[k]] = slots_[i][k];
  s["__step"] = torch::tensor(step_, torch::kInt64);
  return s;
}

void Optimizer::load_state(const std::map<std::string, torch::Tensor>& s) {
  const auto names = slot_names();
  slots_.assign(params_.size(), std::vector<torch::Tensor>(names.size()));
  for (size_t i = 0; i < params_.size(); ++i) {
    size_t found = 0;
    for (size_t k = 0; k < names.size(); ++k) {
      auto it = s.find(params_[i].name + "." + names[k]);
      if (it == s.end()) continue;
      ++found;
      GRAFT_CHECK(it->second.sizes() == params_[i].param.sizes(), FormatError, "optimizer state '", it->first,
                  "' has shape ", it->second.sizes(), ", the parameter has ", params_[i].param.sizes());
      slots_[i][k] = it->second.to(params_[i].param.options()).clone();
    }
    GRAFT_CHECK(found == 0 || found == names.size(), FormatError, "optimizer state of '", params_[i].name, "' has ",
                found, " of its ", names.size(), " slots");
  }
  auto st = s.find("__step");
  GRAFT_CHECK(st != s.end(), FormatError, "optimizer state has no '__step'");
  step_ = st->second.item<int64_t>();
}

namespace {

/// The Adam family: first and second moments; `kind` picks the update rule.
class AdamFamily final : public Optimizer {
 public:
  enum Kind { kTorchAdamW, kHfAdamW, kBertAdamW, kTorchAdam, kLamb };
  AdamFamily(std::vector<NamedParameter> params, const OptimizerSection& o, Kind kind)
      : Optimizer(std::move(params), o), kind_(kind) {}

 protected:
  std::vector<std::string> slot_names() const override { return {"exp_avg", "exp_avg_sq"}; }

  void update(size_t i, const torch::Tensor& grad, double lr, double wd) override {
    auto& p = params_[i].param;
    const double b1 = opt_.beta1, b2 = opt_.beta2;
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step_));
    torch::Tensor g = grad;
    if (kind_ == kTorchAdamW) p.mul_(1.0 - lr * wd);     // decoupled decay before the update
    if (kind_ == kTorchAdam && wd != 0.0) g = g.add(p, wd);  // L2 decay
    auto& m = slot(i, 0);
    auto& v = slot(i, 1);
    m.mul_(b1).add_(g, 1.0 - b1);
    v.mul_(b2).addcmul_(g, g, 1.0 - b2);
    switch (kind_) {
      case kTorchAdamW:
      case kTorchAdam: {
        auto denom = (v.sqrt() / std::sqrt(bc2)).add_(opt_.eps);
        p.addcdiv_(m, denom, -(lr / bc1));
        break;
      }
      case kHfAdamW:
      case kBertAdamW: {
        const double step_size = kind_ == kHfAdamW ? lr * std::sqrt(bc2) / bc1 : lr;
        auto denom = v.sqrt().add_(opt_.eps);
        p.addcdiv_(m, denom, -step_size);
        if (wd > 0.0) p.add_(p, -lr * wd);  // decoupled decay after the update
        break;
      }
      case kLamb: {
        auto u = (m / bc1) / ((v / bc2).sqrt().add_(opt_.eps));
        if (wd != 0.0) u.add_(p, wd);
        const double w_norm = p.norm().item<double>();
        const double u_norm = u.norm().item<double>();
        const double trust = (w_norm > 0.0 && u_norm > 0.0) ? w_norm / u_norm : 1.0;
        p.add_(u, -lr * trust);
        break;
      }
    }
  }

 private:
  Kind kind_;
};

/// torch.optim.SGD (1.13): L2 decay, momentum buffer started as a copy of the first gradient,
/// Nesterov momentum.
class Sgd final : public Optimizer {
 public:
  using Optimizer::Optimizer;

 protected:
  std::vector<std::string> slot_names() const override { return {"momentum_buffer"}; }
  void update(size_t i, const torch::Tensor& grad, double lr, double wd) override {
    auto& p = params_[i].param;
    torch::Tensor g = grad;
    if (wd != 0.0) g = g.add(p, wd);
    if (opt_.momentum != 0.0) {
      if (!has_slot(i, 0)) set_slot(i, 0, g.clone().detach());
      else slot(i, 0).mul_(opt_.momentum).add_(g);
      const auto& buf = slot(i, 0);
      g = opt_.nesterov ? g.add(buf, opt_.momentum) : buf;
    }
    p.add_(g, -lr);
  }
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(std::vector<NamedParameter> params, const OptimizerSection& o) {
  GRAFT_CHECK(o.lr >= 0.0, ConfigError, "optimizer.lr must be >= 0, got ", o.lr);
  GRAFT_CHECK(o.weight_decay >= 0.0, ConfigError, "optimizer.weight_decay must be >= 0, got ", o.weight_decay);
  using K = AdamFamily::Kind;
  auto adam = [&](K k) { return std::unique_ptr<Optimizer>(new AdamFamily(std::move(params), o, k)); };
  if (o.type == "adamw") return adam(K::kTorchAdamW);
  if (o.type == "hf_adamw") return adam(K::kHfAdamW);
  if (o.type == "bert_adamw") return adam(K::kBertAdamW);
  if (o.type == "adam") return adam(K::kTorchAdam);
  if (o.type == "lamb") return adam(K::kLamb);
  if (o.type == "sgd") {
    GRAFT_CHECK(!o.nesterov || o.momentum > 0.0, ConfigError, "optimizer.nesterov = true needs optimizer.momentum > 0");
    return std::unique_ptr<Optimizer>(new Sgd(std::move(params), o));
  }
  throw ConfigError(cat("optimizer.type: unknown optimizer '", o.type,
                        "' (known: adamw, hf_adamw, bert_adamw, adam, sgd, lamb)"));
}

// ---------------------------------------------------------------------------------------------
// Schedules

void check_schedule_type(const std::string& type) {
  if (type == "constant" || type == "linear" || type == "cosine" || type == "cosine_with_restarts" ||
      type == "polynomial" || type == "inverse_sqrt")
    return;
  throw ConfigError(cat("schedule.type: unknown schedule '", type,
                        "' (known: constant, linear, cosine, cosine_with_restarts, polynomial, inverse_sqrt)"));
}

void check_schedule(const ScheduleSection& s, double base_lr) {
  check_schedule_type(s.type);
  GRAFT_CHECK(s.warmup >= 0.0, ConfigError, "schedule.warmup must be >= 0, got ", s.warmup);
  GRAFT_CHECK(s.num_cycles >= 0.0, ConfigError, "schedule.num_cycles must be >= 0, got ", s.num_cycles);
  GRAFT_CHECK(s.timescale >= 0, ConfigError, "schedule.timescale must be >= 0, got ", s.timescale);
  if (s.type == "polynomial")
    GRAFT_CHECK(base_lr > s.lr_end, ConfigError, "schedule.lr_end (", s.lr_end, ") must be smaller than optimizer.lr (",
                base_lr, ") for the polynomial schedule");
}

double schedule_factor(const ScheduleSection& s, int64_t step, int64_t warmup, int64_t total, double base_lr) {
  check_schedule_type(s.type);
  const std::string& type = s.type;
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (type == "constant") return 1.0;
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  if (type == "linear")
    return std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
  if (type == "cosine") {
    const double cycles = s.num_cycles > 0.0 ? s.num_cycles : 0.5;
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * cycles * 2.0 * progress)));
  }
  if (type == "cosine_with_restarts") {
    const double cycles = s.num_cycles > 0.0 ? s.num_cycles : 1.0;
    if (progress >= 1.0) return 0.0;
    return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * std::fmod(cycles * progress, 1.0))));
  }
  if (type == "polynomial") {
    if (step > total) return s.lr_end / base_lr;
    const double range = base_lr - s.lr_end;
    const double decay_steps = static_cast<double>(total - warmup);
    const double remaining = 1.0 - static_cast<double>(step - warmup) / decay_steps;
    return (range * std::pow(remaining, s.power) + s.lr_end) / base_lr;
  }
  // inverse_sqrt
  const int64_t timescale = s.timescale > 0 ? s.timescale : (warmup > 0 ? warmup : 10000);
  const double shifted = static_cast<double>(step + timescale - warmup) / static_cast<double>(timescale);
  return 1.0 / std::sqrt(shifted);
}

double schedule_factor(const std::string& type, int64_t step, int64_t warmup, int64_t total) {
  ScheduleSection s;
  s.type = type;
  return schedule_factor(s, step, warmup, total, 1.0);
}

int64_t warmup_steps(double warmup, int64_t total) {
  GRAFT_CHECK(warmup >= 0.0, ConfigError, "schedule.warmup must be >= 0, got ", warmup);
  if (warmup < 1.0) return static_cast<int64_t>(warmup * static_cast<double>(total));
  return static_cast<int64_t>(warmup);
}

double clip_grad_norm(const std::vector<NamedParameter>& params, double max_norm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.param.grad().defined()) norms.push_back(torch::norm(p.param.grad().detach(), 2));
  if (norms.empty()) return 0.0;
  auto total = torch::norm(torch::stack(norms), 2);
  if (max_norm > 0.0) {
    auto coef = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
    for (const auto& p : params)
      if (p.param.grad().defined()) p.param.mutable_grad().detach().mul_(coef.to(p.param.grad().device()));
  }
  return total.item<double>();
}

// ---------------------------------------------------------------------------------------------
// Loss scaler

LossScaler::LossScaler(LossScalerOptions options) : opt_(options), scale_(options.init_scale) {
  GRAFT_CHECK(opt_.init_scale > 0.0 && opt_.growth_factor > 1.0 && opt_.backoff_factor > 0.0 &&
                  opt_.backoff_factor < 1.0 && opt_.growth_interval >= 1,
              ConfigError, "loss scaler: need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, "
                           "growth_interval >= 1");
}

torch::Tensor LossScaler::scale(const torch::Tensor& loss) const { return loss * scale_; }

bool LossScaler::unscale(const std::vector<NamedParameter>& params) {
  torch::NoGradGuard ng;
  const double inv = 1.0 / scale_;
  bool found_inf = false;
  for (const auto& p : params) {
    if (!p.param.grad().defined()) continue;
    auto g = p.param.mutable_grad().detach();
    g.mul_(inv);
    if (!found_inf && !torch::isfinite(g).all().item<bool>()) found_inf = true;
  }
  return found_inf;
}

void LossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= opt_.backoff_factor;
    growth_tracker_ = 0;
    ++skipped_;
    return;
  }
  if (++growth_tracker_ >= opt_.growth_interval) {
    scale_ *= opt_.growth_factor;
    growth_tracker_ = 0;
  }
}

void LossScaler::set_state(double scale, int64_t growth_tracker, int64_t skipped) {
  GRAFT_CHECK(scale > 0.0 && std::isfinite(scale), FormatError, "loss scaler state: scale must be finite and > 0, got ",
              scale);
  scale_ = scale;
  growth_tracker_ = growth_tracker;
  skipped_ = skipped;
}

}  // namespace graft::core
