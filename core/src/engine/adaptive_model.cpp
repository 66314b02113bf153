// AdaptiveModel: language model + task heads, loss aggregation, autocast.
#include <graft/core/adaptive_model.h>
#include <graft/error.h>

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <set>

namespace graft::core {

void check_precision(const std::string& precision, const torch::Device& device) {
  if (precision == "fp32" || precision == "bf16") return;
  if (precision == "fp16") {
    GRAFT_CHECK(device.is_cuda(), ConfigError,
                "training.precision = \"fp16\" needs a CUDA device (CPU autocast supports bf16 only); use \"bf16\" or \"fp32\"");
    return;
  }
  throw ConfigError(cat("training.precision: unknown precision '", precision, "' (expected fp32, bf16 or fp16)"));
}

AutocastGuard::AutocastGuard(const std::string& precision, const torch::Device& device) {
  if (precision != "bf16" && precision != "fp16") return;
  active_ = true;
  cuda_ = device.is_cuda();
  at::ScalarType dt = precision == "bf16" ? at::kBFloat16 : at::kHalf;
  if (cuda_) {
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dt);
    at::autocast::set_enabled(true);
  } else {
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dt);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (cuda_) {
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
  } else {
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  }
  // Cast weights are cached while autocast is on; drop them so updated weights are re-cast.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

AdaptiveModel::AdaptiveModel(std::shared_ptr<LanguageModel> lm, std::vector<TaskHead> heads)
    : lm_(std::move(lm)), heads_(std::move(heads)) {
  GRAFT_CHECK(lm_ != nullptr, Error, "AdaptiveModel: no language model");
  GRAFT_CHECK(!heads_.empty(), ConfigError, "a model needs at least one task head");
  register_module(lm_->base_model_prefix(), lm_);
  heads_holder_ = std::make_shared<torch::nn::Module>("Heads");
  std::set<std::string> seen;
  for (auto& h : heads_) {
    GRAFT_CHECK(h.head != nullptr, Error, "AdaptiveModel: task '", h.task, "' has no head");
    GRAFT_CHECK(seen.insert(h.task).second, ConfigError, "task name '", h.task, "' is used twice");
    GRAFT_CHECK(!h.task.empty() && h.task.find('.') == std::string::npos && h.task.find('/') == std::string::npos,
                ConfigError, "task name '", h.task, "' must be non-empty and contain no '.' or '/'");
    heads_holder_->register_module(h.task, h.head);
  }
  register_module("heads", heads_holder_);
}

std::vector<std::string> AdaptiveModel::task_names() const {
  std::vector<std::string> out;
  for (const auto& h : heads_) out.push_back(h.task);
  return out;
}

bool AdaptiveModel::has_task(const std::string& task) const {
  for (const auto& h : heads_)
    if (h.task == task) return true;
  return false;
}

PredictionHead& AdaptiveModel::head(const std::string& task) {
  for (auto& h : heads_)
    if (h.task == task) return *h.head;
  throw ConfigError(cat("model has no task '", task, "' (tasks: ", [&] {
    std::string s;
    for (const auto& h : heads_) s += (s.empty() ? "" : ", ") + h.task;
    return s;
  }(), ")"));
}

AdaptiveModel::Output AdaptiveModel::forward(const Batch& batch, const std::vector<std::string>& tasks) {
  Output out;
  out.lm = lm_->forward(batch);
  for (auto& h : heads_) {
    if (!tasks.empty() && std::find(tasks.begin(), tasks.end(), h.task) == tasks.end()) continue;
    out.logits[h.task] = h.head->forward(out.lm, batch);
  }
  for (const auto& t : tasks) GRAFT_CHECK(out.logits.count(t), ConfigError, "model has no task '", t, "'");
  return out;
}

torch::Tensor AdaptiveModel::loss(const Output& out, const Batch& batch, std::map<std::string, double>* per_task) {
  torch::Tensor total;
  for (auto& h : heads_) {
    auto it = out.logits.find(h.task);
    if (it == out.logits.end()) continue;
    torch::Tensor l = h.head->loss(it->second, batch).to(torch::kFloat32).mean();
    if (per_task) (*per_task)[h.task] = l.detach().item<double>();
    torch::Tensor w = h.loss_weight == 1.0 ? l : l * h.loss_weight;
    total = total.defined() ? total + w : w;
  }
  GRAFT_CHECK(total.defined(), Error, "AdaptiveModel::loss: no task logits to compute a loss from");
  return total;
}

void AdaptiveModel::to_device(const torch::Device& device) {
  this->to(device);
  device_ = device;
}

std::vector<std::pair<std::string, torch::Tensor>> AdaptiveModel::export_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  const std::string prefix = lm_->base_model_prefix();
  for (const auto& p : lm_->named_parameters()) out.emplace_back(prefix + "." + p.key(), p.value());
  for (const auto& b : lm_->named_buffers()) out.emplace_back(prefix + "." + b.key(), b.value());
  const bool single = heads_.size() == 1;
  for (const auto& h : heads_) {
    std::string hp = single ? "" : "heads." + h.task + ".";
    for (const auto& p : h.head->named_parameters()) out.emplace_back(hp + p.key(), p.value());
    for (const auto& b : h.head->named_buffers()) out.emplace_back(hp + b.key(), b.value());
  }
  return out;
}

std::map<std::string, torch::Tensor> AdaptiveModel::snapshot() const {
  torch::NoGradGuard ng;
  std::map<std::string, torch::Tensor> s;
  for (const auto& p : named_parameters()) s[p.key()] = p.value().detach().clone();
  for (const auto& b : named_buffers()) s[b.key()] = b.value().detach().clone();
  return s;
}

void AdaptiveModel::restore(const std::map<std::string, torch::Tensor>& snap) {
  torch::NoGradGuard ng;
  for (auto& p : named_parameters()) {
    auto it = snap.find(p.key());
    if (it != snap.end()) p.value().copy_(it->second);
  }
  for (auto& b : named_buffers()) {
    auto it = snap.find(b.key());
    if (it != snap.end()) b.value().copy_(it->second);
  }
}

}  // namespace graft::core
