#pragma once
// Hugging Face export: a pytorch_model.bin writer (the torch.save() zip format) and
// `graft export --hf`, which turns a model (graft model directory, plain HF directory or hub id)
// into directories that transformers' AutoModelFor<Task> / AutoTokenizer load as they are.
#include <graft/core/model_dir.h>
#include <graft/core/weights.h>

#include <string>
#include <vector>

namespace graft::core {

/// Writes `sd` as torch.save() would (torch 1.13, `_use_new_zipfile_serialization=True`): a
/// stored (uncompressed) zip whose records are 64-byte aligned, all under "<archive>/":
/// `data.pkl` (pickle protocol 2 of a collections.OrderedDict of
/// torch._utils._rebuild_tensor_v2(persistent storage id, offset, size, stride, False,
/// OrderedDict())), `data/<key>` (one raw little-endian storage per distinct storage: tensors
/// sharing memory — tied weights — share one record), `byteorder` ("little") and `version`.
/// The archive name is the file name without its extension ("pytorch_model"). Tensors keep
/// their dtype (CUDA tensors are copied to the CPU). Written atomically (temp + fsync + rename).
/// FormatError for dtypes torch.save has no storage class for.
void write_pytorch_bin(const std::string& path, const StateDict& sd);

struct HfExportOptions {
  /// "fp32" (default: float tensors as trained), "fp16" or "bf16" (float tensors converted;
  /// config.json torch_dtype set accordingly).
  std::string dtype = "fp32";
  bool safetensors = true;   ///< write model.safetensors
  bool pytorch_bin = true;   ///< write pytorch_model.bin (transformers < 4.20 reads only this)
  bool tokenizer = true;     ///< write the tokenizer files (when the model has a tokenizer)
  bool overwrite = false;    ///< replace an existing non-empty `out` (else ConfigError)
};

/// What export_hf wrote.
struct HfExportResult {
  struct Dir {
    std::string path;          ///< absolute or as given
    std::string architecture;  ///< config.json architectures[0] ("BertForSequenceClassification")
    std::string task;          ///< the task it holds ("" = the language model alone)
  };
  std::vector<Dir> dirs;
  /// Tasks whose head has no HF equivalent (PredictionHead::hf_export() empty), with the reason.
  std::vector<std::string> skipped;
};

/// Writes `out` (atomically: built in a temp sibling, renamed over `out`):
/// - one task whose head has an HF equivalent: `out` is the `<Stem><Suffix>` checkpoint
///   (config.json with architectures, the head's keys — id2label/label2id/problem_type ...;
///   weights with the encoder under its base_model_prefix and the head tensors under their HF
///   names; tokenizer files);
/// - otherwise (several tasks, or a head without an HF equivalent): `out` holds the language
///   model alone (`<Stem>Model`) plus tokenizer files, and `out/<task>/` a complete
///   `<Stem><Suffix>` checkpoint for each head that has an HF equivalent.
/// ConfigError for an unknown dtype, when `out` is the model's own directory, or when `out`
/// exists, is not empty and `overwrite` is false.
HfExportResult export_hf(const ModelBundle& bundle, const std::string& out, const HfExportOptions& options = {});

}  // namespace graft::core
