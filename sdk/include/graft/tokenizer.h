#pragma once
// Tokenizer interface. Implementations (WordPiece, byte-level BPE, SentencePiece, tokenizer.json)
// live in core; plugins use tokenizers only through this interface.
#include <graft/export.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graft {

/// One encoded sequence (or pair), HF `Encoding` semantics.
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;
  std::vector<std::string> tokens;
  /// UTF-8 byte ranges [begin, end) into the input string the token came from
  /// (sequence 0 → text, 1 → pair; pre-split words: into that word). Specials: {0, 0}.
  std::vector<std::pair<int64_t, int64_t>> offsets;
  std::vector<int64_t> word_ids;          ///< -1 for added special tokens
  std::vector<int64_t> sequence_ids;      ///< -1 for added special tokens, else 0 / 1
  std::vector<uint8_t> special_tokens_mask;  ///< 1 only for tokens the post-processor added
  size_t size() const { return ids.size(); }
};

enum class Truncation { none, longest_first, only_first, only_second };
enum class Direction { right, left };

struct EncodeOptions {
  bool add_special_tokens = true;
  /// 0 = no truncation. Includes the special tokens.
  int64_t max_length = 0;
  Truncation truncation = Truncation::longest_first;
  int64_t stride = 0;
  Direction direction = Direction::right;
  /// When true and the input is longer than max_length, encode() returns every window.
  bool return_overflowing = false;
};

/// The input of one encode call: text [+ pair], or pre-split words [+ pair words].
struct TextInput {
  std::string text;
  std::optional<std::string> pair;
  std::vector<std::string> words;  ///< non-empty → is_split_into_words
  std::vector<std::string> pair_words;
  static TextInput single(std::string t) { TextInput i; i.text = std::move(t); return i; }
  static TextInput with_pair(std::string a, std::string b) {
    TextInput i; i.text = std::move(a); i.pair = std::move(b); return i;
  }
};

class GRAFT_SDK_API Tokenizer {
 public:
  virtual ~Tokenizer();
  /// Encodes one input. Without truncation returns exactly one Encoding; with
  /// `return_overflowing` returns the main window followed by the overflow windows
  /// (HF order). Throws graft::Error when truncation is impossible (e.g. stride too large).
  virtual std::vector<Encoding> encode(const TextInput& input, const EncodeOptions& options) const = 0;
  /// Convenience: first window only.
  Encoding encode_one(const TextInput& input, const EncodeOptions& options = {}) const;
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const = 0;
  virtual int64_t vocab_size() const = 0;
  /// -1 when unknown.
  virtual int64_t token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int64_t id) const = 0;
  virtual int64_t pad_id() const = 0;
  virtual int64_t unk_id() const = 0;
  virtual int64_t cls_id() const = 0;   ///< [CLS] / <s>
  virtual int64_t sep_id() const = 0;   ///< [SEP] / </s>
  virtual int64_t mask_id() const = 0;
  /// Number of special tokens added for a single sequence (2 for BERT) or a pair (3 for BERT).
  virtual int64_t num_special_tokens(bool pair) const = 0;
  /// Short type name ("wordpiece", "bpe", "sentencepiece").
  virtual std::string kind() const = 0;
};

}  // namespace graft
