#include <graft/error.h>
#include <graft/nn/encoder.h>

namespace graft::nn {

EmbeddingsImpl::EmbeddingsImpl(const EmbeddingsOptions& o) : options_(o) {
  GRAFT_CHECK(o.vocab_size > 0 && o.hidden_size > 0 && o.max_position_embeddings > 0 && o.type_vocab_size >= 0, ConfigError,
              "embeddings need vocab_size, hidden_size, max_position_embeddings > 0 and type_vocab_size >= 0 (got ",
              o.vocab_size, ", ", o.hidden_size, ", ", o.max_position_embeddings, ", ", o.type_vocab_size, ")");
  auto wopts = torch::nn::EmbeddingOptions(o.vocab_size, o.hidden_size);
  if (o.pad_token_id >= 0 && o.pad_token_id < o.vocab_size) wopts.padding_idx(o.pad_token_id);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(wopts));
  position_embeddings =
      register_module("position_embeddings", torch::nn::Embedding(o.max_position_embeddings, o.hidden_size));
  if (o.type_vocab_size > 0)
    token_type_embeddings = register_module("token_type_embeddings", torch::nn::Embedding(o.type_vocab_size, o.hidden_size));
  LayerNorm = register_module("LayerNorm",
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size}).eps(o.layer_norm_eps)));
  dropout = register_module("dropout", torch::nn::Dropout(o.dropout));
}

torch::Tensor EmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                      const torch::Tensor& position_ids) {
  GRAFT_CHECK(input_ids.dim() == 2, Error, "input_ids must be [batch, seq_len], got ", input_ids.sizes());
  const int64_t T = input_ids.size(1);
  GRAFT_CHECK(T <= options_.max_position_embeddings || position_ids.defined(), Error, "sequence length ", T,
              " exceeds max_position_embeddings ", options_.max_position_embeddings);
  auto pos = position_ids.defined()
                 ? position_ids
                 : torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(input_ids.device())).unsqueeze(0);
  auto emb = word_embeddings->forward(input_ids);
  if (token_type_embeddings) {
    auto tt = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
    emb = emb + token_type_embeddings->forward(tt);
  }
  emb = emb + position_embeddings->forward(pos);
  return dropout->forward(LayerNorm->forward(emb));
}

IntermediateImpl::IntermediateImpl(int64_t hidden_size, int64_t intermediate_size, Activation act) : act_(act) {
  dense = register_module("dense", torch::nn::Linear(hidden_size, intermediate_size));
}

torch::Tensor IntermediateImpl::forward(const torch::Tensor& x) { return apply_activation(act_, dense->forward(x)); }

EncoderLayerImpl::EncoderLayerImpl(const EncoderLayerOptions& o) {
  attention = register_module("attention", Attention(o.attention));
  intermediate = register_module("intermediate", Intermediate(o.attention.hidden_size, o.intermediate_size, o.activation));
  output = register_module("output", ResidualOutput(o.intermediate_size, o.attention.hidden_size, o.attention.hidden_dropout,
                                                    o.attention.layer_norm_eps));
}

std::pair<torch::Tensor, torch::Tensor> EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask,
                                                                 bool need_probs) {
  auto [a, probs] = attention->forward(x, additive_mask, need_probs);
  return {output->forward(intermediate->forward(a), a), probs};
}

EncoderImpl::EncoderImpl(int64_t num_layers, const EncoderLayerOptions& options) {
  GRAFT_CHECK(num_layers >= 0, ConfigError, "num_hidden_layers must be >= 0, got ", num_layers);
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < num_layers; ++i) {
    layers_.push_back(EncoderLayer(options));
    layer->push_back(layers_.back());
  }
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask, bool output_hidden_states,
                                   bool output_attentions) {
  EncoderOutput out;
  torch::Tensor h = x;
  for (auto& l : layers_) {
    if (output_hidden_states) out.hidden_states.push_back(h);
    auto [next, probs] = l->forward(h, additive_mask, output_attentions);
    if (output_attentions) out.attentions.push_back(probs);
    h = next;
  }
  if (output_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = h;
  return out;
}

PoolerImpl::PoolerImpl(int64_t hidden_size) { dense = register_module("dense", torch::nn::Linear(hidden_size, hidden_size)); }

torch::Tensor PoolerImpl::forward(const torch::Tensor& sequence) {
  using torch::indexing::Slice;
  return torch::tanh(dense->forward(sequence.index({Slice(), 0})));
}

void init_bert_weights(torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
      const auto& pad = emb->options.padding_idx();
      if (pad.has_value()) emb->weight[*pad].zero_();
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      if (ln->weight.defined()) ln->weight.fill_(1.0);
      if (ln->bias.defined()) ln->bias.zero_();
    }
  }
}

}  // namespace graft::nn
