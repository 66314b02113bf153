#pragma once
// LanguageModel: an encoder (BERT, RoBERTa, ...) as a torch::nn::Module whose parameter names
// are exactly the Hugging Face checkpoint names of the base model (no prefix): core's weight
// I/O loads "embeddings.word_embeddings.weight" from either that key or "<prefix>.<key>".
#include <graft/export.h>
#include <graft/types.h>
#include <graft/value.h>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace graft {

struct LMOutput {
  torch::Tensor sequence;                    ///< [B, T, H] last hidden state
  torch::Tensor pooled;                      ///< [B, H] where the family defines a pooler, else undefined
  std::vector<torch::Tensor> hidden_states;  ///< num_layers + 1 entries when requested
  std::vector<torch::Tensor> attentions;     ///< per layer [B, heads, T, T] when requested
  /// The input word-embedding matrix [vocab, E] (the parameter itself, not a copy), for heads
  /// whose output layer is tied to it (masked-LM decoders). Undefined if the family has none.
  torch::Tensor word_embeddings;
};

struct ForwardOptions {
  bool output_hidden_states = false;
  bool output_attentions = false;
};

/// What core hands a language-model factory.
struct LanguageModelContext {
  Value hf_config;  ///< the whole config.json (or the recipe's config table for from-scratch)
};

class GRAFT_SDK_API LanguageModel : public torch::nn::Module {
 public:
  ~LanguageModel() override;
  /// Reads batch "input_ids", "attention_mask" and (if the family uses them) "token_type_ids".
  virtual LMOutput forward(const Batch& batch, const ForwardOptions& options = {}) = 0;
  virtual int64_t hidden_size() const = 0;
  /// HF base_model_prefix ("bert", "roberta", "electra", ...): the key prefix in *For* checkpoints.
  virtual std::string base_model_prefix() const = 0;
  /// HF class-name stem ("Bert" → "BertModel", "BertForSequenceClassification").
  virtual std::string architecture_stem() const = 0;
  /// The config.json this model saves (HF layout, all keys the family needs).
  virtual Value hf_config() const = 0;
  /// HF's initialisation for from-scratch runs: normal(0, initializer_range) for weights,
  /// zero biases, LayerNorm 1/0, padding_idx rows zeroed where HF does so.
  virtual void init_weights() = 0;
  /// Maps a checkpoint key (prefix already stripped) to this module's parameter name;
  /// return "" to ignore the key. Default: identity.
  virtual std::string map_checkpoint_key(const std::string& key) const { return key; }
  /// Checkpoint keys (without prefix) that are fine to find and ignore (e.g. "embeddings.position_ids").
  virtual std::vector<std::string> ignored_checkpoint_keys() const { return {}; }
  /// Parameter-name prefixes a checkpoint may lack (e.g. "pooler.": HF's token-classification,
  /// QA and MLM classes are built without a pooler). Core keeps them as init_weights() left them
  /// and lists them as missing instead of failing. Default: none.
  virtual std::vector<std::string> optional_parameter_prefixes() const { return {}; }
};

}  // namespace graft
