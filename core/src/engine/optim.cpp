// Optimizers (torch AdamW, HF AdamW, Adam, SGD), schedules and gradient clipping.
#include <graft/core/optim.h>
#include <graft/error.h>

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

namespace {

/// Adam-family state: first and second moments per parameter.
class AdamBase : public Optimizer {
 public:
  using Optimizer::Optimizer;

  std::map<std::string, torch::Tensor> state() const override {
    std::map<std::string, torch::Tensor> s;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!m_[i].defined()) continue;
      s[params_[i].name + ".exp_avg"] = m_[i];
      s[params_[i].name + ".exp_avg_sq"] = v_[i];
    }
    s["__step"] = torch::tensor(step_, torch::kInt64);
    return s;
  }
  void load_state(const std::map<std::string, torch::Tensor>& s) override {
    ensure();
    for (size_t i = 0; i < params_.size(); ++i) {
      auto a = s.find(params_[i].name + ".exp_avg");
      auto b = s.find(params_[i].name + ".exp_avg_sq");
      if (a == s.end() || b == s.end()) continue;
      GRAFT_CHECK(a->second.sizes() == params_[i].param.sizes(), FormatError, "optimizer state for '",
                  params_[i].name, "' has shape ", a->second.sizes(), ", expected ", params_[i].param.sizes());
      m_[i] = a->second.to(params_[i].param.options()).clone();
      v_[i] = b->second.to(params_[i].param.options()).clone();
    }
    auto st = s.find("__step");
    if (st != s.end()) step_ = st->second.item<int64_t>();
  }

 protected:
  void ensure() {
    if (m_.size() == params_.size()) return;
    m_.resize(params_.size());
    v_.resize(params_.size());
  }
  torch::Tensor& m(size_t i) {
    if (!m_[i].defined()) m_[i] = torch::zeros_like(params_[i].param, at::MemoryFormat::Preserve);
    return m_[i];
  }
  torch::Tensor& v(size_t i) {
    if (!v_[i].defined()) v_[i] = torch::zeros_like(params_[i].param, at::MemoryFormat::Preserve);
    return v_[i];
  }
  std::vector<torch::Tensor> m_, v_;
};

class TorchAdamW final : public AdamBase {
 public:
  using AdamBase::AdamBase;
  void step() override {
    torch::NoGradGuard ng;
    ensure();
    ++step_;
    const double b1 = opt_.beta1, b2 = opt_.beta2;
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step_));
    const double step_size = lr_ / bc1;
    const double bc2_sqrt = std::sqrt(bc2);
    for (size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i].param;
      const auto& g = p.grad();
      if (!g.defined()) continue;
      const double wd = params_[i].decay ? opt_.weight_decay : 0.0;
      p.mul_(1.0 - lr_ * wd);
      auto& ea = m(i);
      auto& eas = v(i);
      ea.mul_(b1).add_(g, 1.0 - b1);
      eas.mul_(b2).addcmul_(g, g, 1.0 - b2);
      auto denom = (eas.sqrt() / bc2_sqrt).add_(opt_.eps);
      p.addcdiv_(ea, denom, -step_size);
    }
  }
};

class HfAdamW final : public AdamBase {
 public:
  using AdamBase::AdamBase;
  void step() override {
    torch::NoGradGuard ng;
    ensure();
    ++step_;
    const double b1 = opt_.beta1, b2 = opt_.beta2;
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step_));
    const double step_size = lr_ * std::sqrt(bc2) / bc1;
    for (size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i].param;
      const auto& g = p.grad();
      if (!g.defined()) continue;
      auto& ea = m(i);
      auto& eas = v(i);
      ea.mul_(b1).add_(g, 1.0 - b1);
      eas.mul_(b2).addcmul_(g, g, 1.0 - b2);
      auto denom = eas.sqrt().add_(opt_.eps);
      p.addcdiv_(ea, denom, -step_size);
      const double wd = params_[i].decay ? opt_.weight_decay : 0.0;
      if (wd > 0.0) p.add_(p, -lr_ * wd);
    }
  }
};

class TorchAdam final : public AdamBase {
 public:
  using AdamBase::AdamBase;
  void step() override {
    torch::NoGradGuard ng;
    ensure();
    ++step_;
    const double b1 = opt_.beta1, b2 = opt_.beta2;
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(step_));
    const double step_size = lr_ / bc1;
    const double bc2_sqrt = std::sqrt(bc2);
    for (size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i].param;
      torch::Tensor g = p.grad();
      if (!g.defined()) continue;
      const double wd = params_[i].decay ? opt_.weight_decay : 0.0;
      if (wd != 0.0) g = g.add(p, wd);
      auto& ea = m(i);
      auto& eas = v(i);
      ea.mul_(b1).add_(g, 1.0 - b1);
      eas.mul_(b2).addcmul_(g, g, 1.0 - b2);
      auto denom = (eas.sqrt() / bc2_sqrt).add_(opt_.eps);
      p.addcdiv_(ea, denom, -step_size);
    }
  }
};

class Sgd final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  void step() override {
    torch::NoGradGuard ng;
    if (buf_.size() != params_.size()) buf_.resize(params_.size());
    ++step_;
    for (size_t i = 0; i < params_.size(); ++i) {
      auto& p = params_[i].param;
      torch::Tensor g = p.grad();
      if (!g.defined()) continue;
      const double wd = params_[i].decay ? opt_.weight_decay : 0.0;
      if (wd != 0.0) g = g.add(p, wd);
      if (opt_.momentum != 0.0) {
        if (!buf_[i].defined()) buf_[i] = g.clone().detach();
        else buf_[i].mul_(opt_.momentum).add_(g);
        g = buf_[i];
      }
      p.add_(g, -lr_);
    }
  }
  std::map<std::string, torch::Tensor> state() const override {
    std::map<std::string, torch::Tensor> s;
    for (size_t i = 0; i < buf_.size(); ++i)
      if (buf_[i].defined()) s[params_[i].name + ".momentum_buffer"] = buf_[i];
    s["__step"] = torch::tensor(step_, torch::kInt64);
    return s;
  }
  void load_state(const std::map<std::string, torch::Tensor>& s) override {
    buf_.assign(params_.size(), {});
    for (size_t i = 0; i < params_.size(); ++i) {
      auto it = s.find(params_[i].name + ".momentum_buffer");
      if (it != s.end()) buf_[i] = it->second.to(params_[i].param.options()).clone();
    }
    auto st = s.find("__step");
    if (st != s.end()) step_ = st->second.item<int64_t>();
  }

 private:
  std::vector<torch::Tensor> buf_;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(std::vector<NamedParameter> params, const OptimizerSection& o) {
  GRAFT_CHECK(o.lr >= 0.0, ConfigError, "optimizer.lr must be >= 0, got ", o.lr);
  if (o.type == "adamw") return std::unique_ptr<Optimizer>(new TorchAdamW(std::move(params), o));
  if (o.type == "hf_adamw") return std::unique_ptr<Optimizer>(new HfAdamW(std::move(params), o));
  if (o.type == "adam") return std::unique_ptr<Optimizer>(new TorchAdam(std::move(params), o));
  if (o.type == "sgd") return std::unique_ptr<Optimizer>(new Sgd(std::move(params), o));
  throw ConfigError(cat("optimizer.type: unknown optimizer '", o.type, "' (known: adamw, hf_adamw, adam, sgd)"));
}

void check_schedule_type(const std::string& type) {
  if (type == "constant" || type == "linear" || type == "cosine") return;
  throw ConfigError(cat("schedule.type: unknown schedule '", type, "' (known: constant, linear, cosine)"));
}

double schedule_factor(const std::string& type, int64_t step, int64_t warmup, int64_t total) {
  check_schedule_type(type);
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  if (type == "constant") return 1.0;
  if (type == "linear")
    return std::max(0.0, static_cast<double>(total - step) / static_cast<double>(std::max<int64_t>(1, total - warmup)));
  // cosine, num_cycles = 0.5
  double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
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

}  // namespace graft::core
