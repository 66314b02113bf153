#pragma once
// Core's side of the SentencePiece isolation (internal to core): opens libgraft_spm.so (the
// only binary linking sentencepiece, see core/spm/graft_spm.h) with
// dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) on first use and wraps its C interface.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace graft::core::tok {

/// One sentencepiece piece: sp id, piece string, byte span [begin, end) of the encoded input.
struct SpmPiece {
  int32_t id = 0;
  uint32_t begin = 0, end = 0;
  std::string piece;
};

/// A loaded sentencepiece model (thread-safe for concurrent encode/decode).
class SpmModel {
 public:
  /// Loads the serialized model `bytes` (read from `path`, named in errors). FormatError when
  /// the module cannot be opened or the bytes are not a sentencepiece model.
  SpmModel(std::string bytes, std::string path);
  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  int32_t size() const;
  /// -1 when the piece is not in the vocabulary.
  int32_t piece_to_id(std::string_view piece) const;
  /// "" when out of range.
  std::string_view id_to_piece(int32_t id) const;
  float score(int32_t id) const;
  bool is_unknown(int32_t id) const;
  bool is_control(int32_t id) const;
  bool is_unused(int32_t id) const;
  bool is_byte(int32_t id) const;
  int32_t unk_id() const;
  /// Encodes UTF-8 `text` (normalization as the model defines it).
  void encode(std::string_view text, std::vector<SpmPiece>& out) const;
  /// sentencepiece's own DecodeIds.
  std::string decode(const std::vector<int32_t>& ids) const;

  const std::string& bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  void* handle_ = nullptr;
  std::string bytes_, path_;
};

/// Path of the module that was (or would be) opened; "" before the first use.
std::string spm_module_path();

}  // namespace graft::core::tok
