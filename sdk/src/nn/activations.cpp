#include <graft/error.h>
#include <graft/nn/activations.h>

#include <cmath>

namespace graft::nn {

Activation activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::gelu_new;
  if (name == "relu") return Activation::relu;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "tanh") return Activation::tanh;
  std::string known;
  for (const auto& n : activation_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(cat("unknown activation '", name, "' (known: ", known, ")"));
}

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::gelu: return "gelu";
    case Activation::gelu_new: return "gelu_new";
    case Activation::relu: return "relu";
    case Activation::silu: return "silu";
    case Activation::tanh: return "tanh";
  }
  return "gelu";
}

std::vector<std::string> activation_names() {
  return {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh"};
}

torch::Tensor gelu(const torch::Tensor& x) { return torch::gelu(x); }

torch::Tensor gelu_new(const torch::Tensor& x) {
  // HF 4.7: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
  return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
}

torch::Tensor apply_activation(Activation a, const torch::Tensor& x) {
  switch (a) {
    case Activation::gelu: return nn::gelu(x);
    case Activation::gelu_new: return nn::gelu_new(x);
    case Activation::relu: return torch::relu(x);
    case Activation::silu: return torch::silu(x);
    case Activation::tanh: return torch::tanh(x);
  }
  return x;
}

}  // namespace graft::nn
