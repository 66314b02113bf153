#pragma once
// Weight I/O: safetensors (memory-mapped, validated), sharded safetensors / .bin indexes,
// pytorch_model.bin (zip + a restricted pickle interpreter), atomic safetensors writing, and
// loading a StateDict into a module by name with a report of what did not fit.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace graft::core {

/// Ordered name → tensor map (file order is kept, lookups are hashed).
class StateDict {
 public:
  using Item = std::pair<std::string, torch::Tensor>;

  /// Inserts or replaces (a replaced key keeps its position).
  void set(const std::string& name, torch::Tensor tensor);
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  /// nullptr when absent.
  const torch::Tensor* find(const std::string& name) const;
  /// FormatError naming the key (and `source()` when set) when absent.
  const torch::Tensor& at(const std::string& name) const;
  bool erase(const std::string& name);
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  std::vector<Item>::const_iterator begin() const { return items_.begin(); }
  std::vector<Item>::const_iterator end() const { return items_.end(); }

  /// The file(s) the tensors came from, for messages ("" for in-memory dicts).
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;
  std::string source_;
};

struct ReadOptions {
  /// Converts float16 / bfloat16 tensors to float32 (the default: graft computes in float32).
  bool upcast_half = true;
};

/// Reads a safetensors file, memory-mapped (copy-on-write: tensors may be modified in place
/// without touching the file). FormatError naming the file and the tensor/field on any
/// inconsistency (header length, JSON, dtype, shape, data_offsets).
StateDict read_safetensors(const std::string& path, const ReadOptions& options = {});
/// Reads "<x>.index.json" ({"weight_map": {tensor: shard}}) and every shard it names
/// (safetensors or pytorch_model.bin shards).
StateDict read_sharded(const std::string& index_path, const ReadOptions& options = {});
/// Reads a torch.save() zip archive of a state dict. Only the pickle opcodes and globals a
/// state dict uses are accepted (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
/// torch._utils._rebuild_parameter, torch.*Storage); anything else is a FormatError.
/// Tensors saved as views of one storage share memory.
StateDict read_pytorch_bin(const std::string& path, const ReadOptions& options = {});

/// The weights file of an HF model directory, by preference: model.safetensors,
/// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json.
/// FormatError naming the directory and the expected names when there is none.
std::string find_weights_file(const std::string& model_dir);
/// Reads any of the above by file name (".safetensors", ".index.json", else a .bin zip).
StateDict read_weights(const std::string& path, const ReadOptions& options = {});

/// transformers 4.7.0's legacy TF renames: a key containing "gamma" → replace("gamma",
/// "weight"); containing "beta" → replace("beta", "bias") (applied to the original key; the
/// beta rule wins when both occur). Returns how many keys were renamed.
size_t rename_legacy_keys(StateDict& sd);

/// Writes an HF-layout safetensors file (8-byte LE header length, JSON header with
/// "__metadata__" first, padded with spaces to a multiple of 8, tensors contiguous in dict
/// order) atomically (temp file + fsync + rename). Tensors are written as they are (dtype
/// kept; moved to CPU, made contiguous).
void write_safetensors(const std::string& path, const StateDict& sd,
                       const std::vector<std::pair<std::string, std::string>>& metadata = {{"format", "pt"}});

/// safetensors dtype name ("F32") of a scalar type; FormatError for types the format lacks.
std::string safetensors_dtype_name(torch::ScalarType t);

struct ShapeMismatch {
  std::string parameter;   ///< module parameter/buffer name
  std::string checkpoint;  ///< checkpoint key it was matched to
  std::vector<int64_t> expected, actual;
};

struct LoadReport {
  std::vector<std::string> loaded;      ///< module names that received a tensor
  std::vector<std::string> missing;     ///< module names with no tensor in the dict
  std::vector<std::string> unexpected;  ///< dict keys nothing consumed (and not ignored)
  std::vector<std::string> ignored;     ///< dict keys dropped on purpose (e.g. position_ids)
  std::vector<ShapeMismatch> mismatched;
  bool ok() const { return missing.empty() && mismatched.empty(); }
  /// Multi-line human summary ("missing: a, b; unexpected: c").
  std::string summary() const;
};

struct LoadOptions {
  /// Key prefixes tried first, in order ("bert" → "bert.<name>"); then the bare name.
  std::vector<std::string> prefixes;
  /// Maps a checkpoint key (prefix stripped) to a module name; "" drops the key. Default identity.
  std::function<std::string(const std::string&)> map_key;
  /// Checkpoint keys (prefix stripped) that may be present and are ignored.
  std::vector<std::string> ignored_keys;
  /// Module-name prefixes that may be missing (kept as initialised, still listed in `missing`).
  std::vector<std::string> optional_prefixes;
  /// When true (default) missing required names or shape mismatches throw FormatError.
  bool strict = true;
};

/// Copies tensors into `module`'s parameters and buffers by name (dtype converted, no grad).
/// Throws FormatError naming `sd.source()` and the tensor names (missing ones, or shape
/// expected vs found) when `options.strict`.
LoadReport load_into(torch::nn::Module& module, const StateDict& sd, const LoadOptions& options = {});

/// The module's parameters and persistent buffers under their names, optionally prefixed.
StateDict state_dict_of(const torch::nn::Module& module, const std::string& prefix = "");

}  // namespace graft::core
