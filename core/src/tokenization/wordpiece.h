#pragma once
// WordPiece tokenizer (BERT family), HF tokenizers (Rust) semantics. Internal to core.
#include "encoding_ops.h"

#include <graft/core/tokenizers.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace graft::core::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

}  // namespace graft::core::tok

#ifdef __GLIBCXX__
// libstdc++ caches hash codes in unordered_map nodes only for hashers it does not consider "fast";
// a custom hasher counts as fast, so every lookup re-hashed each string key along the bucket
// chain (29% of WordPiece encoding time in a profile). Strings are not fast to hash: cache them.
template <>
struct std::__is_fast_hash<graft::core::tok::StringHash> : std::false_type {};
#endif

namespace graft::core::tok {

/// tokenizer.json `added_tokens` entry.
struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool special = true;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

/// Everything that defines a WordPiece tokenizer (what tokenizer.json holds).
struct WordPieceConfig {
  // normalizer (BertNormalizer); has_normalizer=false → identity
  bool has_normalizer = true;
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;  ///< nullopt = follow lowercase
  bool lowercase = true;
  // pre-tokenizer (BertPreTokenizer); false → the whole sequence is one word
  bool bert_pre_tokenizer = true;
  // model
  std::vector<std::pair<std::string, int64_t>> vocab;  ///< token → id (any order)
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int64_t max_input_chars_per_word = 100;
  // added vocabulary
  std::vector<AddedToken> added_tokens;
  // post-processor (TemplateProcessing); false → no special tokens added
  bool has_post_processor = true;
  std::vector<TemplatePiece> single, pair;
  std::vector<TemplateSpecial> special_tokens;
  // decoder (WordPiece); false → tokens joined with " "
  bool has_decoder = true;
  std::string decoder_prefix = "##";
  bool decoder_cleanup = true;
  // role tokens (tokenizer_config / special_tokens_map); empty = none
  std::string cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]", mask_token = "[MASK]";
  /// Where it came from (for messages).
  std::string source;

  /// The standard BERT template `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1`.
  void set_bert_template(const std::string& cls, int64_t cls_id, const std::string& sep, int64_t sep_id);
};

/// The config the options describe; a relative vocab path resolves against base_dir.
WordPieceConfig config_from_options(const WordPieceOptions& options, const std::string& base_dir);

class WordPieceTokenizer final : public Tokenizer {
 public:
  /// Registry constructor: options + model dir (relative vocab resolves against it).
  WordPieceTokenizer(const WordPieceOptions& options, const TokenizerContext& ctx)
      : WordPieceTokenizer(config_from_options(options, ctx.model_dir)) {}
  explicit WordPieceTokenizer(WordPieceConfig config);

  std::vector<Encoding> encode(const TextInput& input, const EncodeOptions& options) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const override;
  int64_t vocab_size() const override;
  int64_t token_to_id(std::string_view token) const override;
  std::string id_to_token(int64_t id) const override;
  int64_t pad_id() const override { return pad_id_; }
  int64_t unk_id() const override { return unk_id_; }
  int64_t cls_id() const override { return cls_id_; }
  int64_t sep_id() const override { return sep_id_; }
  int64_t mask_id() const override { return mask_id_; }
  int64_t num_special_tokens(bool pair) const override;
  std::string kind() const override { return "wordpiece"; }

  const WordPieceConfig& config() const { return cfg_; }
  /// The tokens of `ids` as the decoder sees them (specials skipped on request).
  std::vector<std::string> decode_tokens(const std::vector<int64_t>& ids, bool skip_special_tokens) const;

 private:
  struct NChar {
    char32_t c;
    uint32_t start, end;  ///< original byte range
  };
  struct Matcher {
    std::vector<size_t> patterns;  ///< indices into added tokens, longest first
    std::vector<std::string> texts;
    bool first_byte[256] = {};
    bool empty() const { return patterns.empty(); }
  };
  struct Match {
    size_t begin, end;
    int64_t added;  ///< index into cfg_.added_tokens
  };

  void init();
  bool strip_accents() const;
  void find_matches(std::string_view s, const Matcher& m, std::vector<Match>& out) const;
  void normalize(std::string_view text, size_t base, std::vector<NChar>& out) const;
  void encode_text(std::string_view text, int64_t type_id, int64_t fixed_word, Enc& out) const;
  void encode_normalized(const std::vector<NChar>& chars, size_t b, size_t e, int64_t type_id, int64_t fixed_word,
                         int64_t& word, Enc& out) const;
  void wordpiece(const std::vector<NChar>& chars, size_t b, size_t e, int64_t type_id, int64_t word, Enc& out) const;
  Enc encode_sequence(const TextInput& input, bool pair) const;

  WordPieceConfig cfg_;
  TokenMap vocab_;          ///< full token → id
  TokenMap continuation_;   ///< token without the prefix → id, for tokens starting with the prefix
  size_t max_token_bytes_ = 0, max_cont_bytes_ = 0;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> has_id_;
  TokenMap added_by_content_;
  std::unordered_map<int64_t, size_t> added_by_id_;
  Matcher raw_matcher_, normalized_matcher_;
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, mask_id_ = -1;
  int64_t added_single_ = 0, added_pair_ = 0;
  PostTemplate post_;  ///< built from cfg_ in init()
};

/// Reads tokenizer.json (WordPiece only). FormatError naming the file/field otherwise.
WordPieceConfig read_tokenizer_json(const std::string& path);
/// Reads vocab.txt into config.vocab. FormatError when missing/empty.
void read_vocab_txt(const std::string& path, WordPieceConfig& config);

}  // namespace graft::core::tok
