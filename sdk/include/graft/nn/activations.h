#pragma once
// Activations by their Hugging Face config name (`hidden_act`).
#include <graft/export.h>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace graft::nn {

enum class Activation {
  gelu,       ///< exact erf GELU ("gelu")
  gelu_new,   ///< tanh approximation ("gelu_new"; "gelu_pytorch_tanh" is accepted as the same)
  relu,       ///< "relu"
  silu,       ///< "silu" / "swish"
  tanh,       ///< "tanh"
};

/// Parses an HF `hidden_act` name; ConfigError listing the known names otherwise.
GRAFT_SDK_API Activation activation_from_name(const std::string& name);
/// The canonical HF name of an activation ("gelu", "gelu_new", ...).
GRAFT_SDK_API std::string activation_name(Activation a);
/// Every accepted name (for option validation and docs).
GRAFT_SDK_API std::vector<std::string> activation_names();
GRAFT_SDK_API torch::Tensor apply_activation(Activation a, const torch::Tensor& x);

/// 0.5·x·(1 + erf(x/√2)).
GRAFT_SDK_API torch::Tensor gelu(const torch::Tensor& x);
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), HF's `gelu_new`.
GRAFT_SDK_API torch::Tensor gelu_new(const torch::Tensor& x);

}  // namespace graft::nn
