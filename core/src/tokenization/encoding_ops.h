#pragma once
// Encoding operations shared by every core tokenizer (internal to core): the working encoding
// with HF's overflowing tree, truncation strategies with stride windows, merging, and HF's
// TemplateProcessing. Semantics follow HF tokenizers 0.22 (Rust) exactly.
#include <graft/core/tokenizers.h>
#include <graft/tokenizer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace graft::core::tok {

/// One encoding with HF's overflowing tree (internal; converted to graft::Encoding at the end).
struct Enc {
  std::vector<int64_t> ids, type_ids, words, seq;
  std::vector<std::string> tokens;
  std::vector<std::pair<int64_t, int64_t>> offsets;
  std::vector<uint8_t> special;
  std::vector<Enc> overflowing;
  size_t size() const { return ids.size(); }
  void reserve(size_t n);
  void push(int64_t id, std::string token, int64_t b, int64_t e, int64_t word, int64_t type_id);
};

/// TemplateProcessing piece: a special token (by template id) or sequence A/B.
struct TemplatePiece {
  bool is_sequence = false;
  int sequence = 0;         ///< 0 = A, 1 = B
  std::string special;      ///< key into special_tokens
  int64_t type_id = 0;
};
struct TemplateSpecial {
  std::string id;
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
};

/// A post-processor template (TemplateProcessing; Bert/RobertaProcessing are expressed as one).
/// enabled=false → the sequences are concatenated with nothing added.
struct PostTemplate {
  bool enabled = true;
  std::vector<TemplatePiece> single, pair;
  std::vector<TemplateSpecial> special_tokens;
  /// Number of tokens the template adds for one sequence / a pair.
  int64_t num_added(bool with_pair) const;
};

/// Sets the sequence id of every token (and of the overflowing parts).
void set_sequence(Enc& e, int64_t seq);
/// Tokens [b, s) of e (without overflowing parts).
Enc slice(const Enc& e, size_t b, size_t s);
/// Encoding::truncate: keeps a window of max_len, the rest become overflowing windows
/// (stride tokens repeated). TruncationError("StrideTooLarge") when stride >= max_len.
void truncate(Enc& e, size_t max_len, size_t stride, Direction dir);
/// Encoding::merge_with (growing_offsets = false), combining overflowing parts.
void merge_with(Enc& self, const Enc& pair);
/// truncate_encodings: the strategies longest_first / only_first / only_second.
void truncate_encodings(Enc& a, Enc* b, size_t max_length, Truncation strategy, size_t stride, Direction dir);
/// Moves the working encoding into the public type (overflowing parts dropped).
Encoding to_encoding(Enc&& e);
/// TokenizerImpl::post_process: truncation (room left after the special tokens), then the
/// template (type ids, sequence ids, special tokens) including the overflowing windows.
Enc apply_template(Enc a, std::optional<Enc> b, const EncodeOptions& o, const PostTemplate& t);
/// The main encoding followed (when asked) by its overflowing windows, HF order.
std::vector<Encoding> finish(Enc e, bool return_overflowing);

}  // namespace graft::core::tok
