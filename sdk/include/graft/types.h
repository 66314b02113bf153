#pragma once
// Data records flowing through the pipeline: Basket (one raw input) → Samples (model-sized
// pieces with features) → Batch (collated, padded tensors).
#include <graft/export.h>
#include <graft/tokenizer.h>
#include <graft/value.h>

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace graft {

/// One featurized, model-sized piece of a basket (a window of a long document, or the whole input).
struct Sample {
  std::string id;  ///< "<basket id>-<window>"
  /// Per-sample tensors. Sequence features are 1-D of the sample's own length
  /// (input_ids, attention_mask, token_type_ids, token label ids...). Collate pads them.
  std::map<std::string, torch::Tensor> features;
  Encoding encoding;  ///< tokens/offsets kept for formatting predictions
  Value meta;         ///< anything the head needs to format predictions (e.g. window offsets)
};

/// One raw input record (a TSV row, a SQuAD question, an inference dict).
struct Basket {
  std::string id;       ///< stable id: "<file>:<line>" for file input, "<index>" for dicts
  SourceLocation loc;   ///< file:line of the record
  Value raw;            ///< the record as an object (text, label, ...)
  std::vector<Sample> samples;
  /// Non-empty when featurization failed for this record; the silo reports (and skips or fails).
  std::string problem;
};

/// Collated tensors of several samples, keyed by name ("input_ids", "attention_mask",
/// "token_type_ids", "<task>/label_ids", ...).
struct GRAFT_SDK_API Batch {
  std::map<std::string, torch::Tensor> tensors;
  /// The samples the rows came from (same order); not owned, valid while the silo lives.
  std::vector<const Sample*> samples;
  /// Baskets of the rows (same order), for formatting.
  std::vector<const Basket*> baskets;

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  /// Throws graft::Error naming the missing key and the keys present.
  const torch::Tensor& at(const std::string& name) const;
  int64_t size() const;  ///< rows (dim 0 of input_ids, or of any tensor)
  /// Moves every tensor to `device` (non-blocking where possible).
  Batch to(const torch::Device& device) const;
};

/// Pads 1-D tensors (various lengths) to the longest and stacks them: [N, maxlen].
GRAFT_SDK_API torch::Tensor pad_stack(const std::vector<torch::Tensor>& rows, double pad_value);

/// Collates the standard encoder inputs of `samples` (input_ids padded with `pad_id`,
/// attention_mask with 0, token_type_ids with 0) into `batch`, padded to the longest sample.
GRAFT_SDK_API void collate_inputs(const std::vector<const Sample*>& samples, int64_t pad_id, Batch& batch);

/// Fills a sample's standard input features from an Encoding.
GRAFT_SDK_API void set_input_features(Sample& sample, const Encoding& enc);

}  // namespace graft
