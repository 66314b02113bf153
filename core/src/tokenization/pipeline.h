#pragma once
// The tokenizer.json pipeline (HF tokenizers 0.22 semantics), internal to core:
// normalizer → pre-tokenizer → model → post-processor → decoder, plus the added vocabulary.
//
// Strings being normalized are NStr: the normalized UTF-8 text with, for every byte, the
// original byte range it came from (HF's NormalizedString alignments, kept absolute here).
// Components are built from their tokenizer.json objects (components.cpp) and keep that object
// so that a tokenizer saves back to the same tokenizer.json.
#include "encoding_ops.h"
#include "wordpiece.h"

#include <graft/options.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace graft::core::tok {

using Align = std::pair<uint32_t, uint32_t>;

/// HF NormalizedString: normalized text + per-byte original ranges (absolute byte offsets into
/// the input string) + the original start of this piece (HF's original_shift).
struct NStr {
  std::string s;
  std::vector<Align> al;
  uint32_t shift = 0;

  static NStr from(std::string_view text);
  bool empty() const { return s.empty(); }
  /// Sub-string [b, e) of the normalized text (char boundaries).
  NStr slice(size_t b, size_t e) const;
  /// NormalizedString::transform over the whole string: each new char with its change
  /// (1 = inserted, 0 = replaces the next old char, -n = replaces it and removes n more).
  void transform(const std::vector<std::pair<char32_t, int>>& dest, size_t initial_offset);
  void prepend(std::string_view p);
  void append(std::string_view p);
  /// Normalized byte range → original (absolute) byte range (HF convert_offsets + shift).
  std::pair<int64_t, int64_t> original(size_t b, size_t e) const;
};

/// A pattern match list: [b, e) with is_match, covering the whole string in order.
struct PMatch {
  size_t b, e;
  bool match;
};

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

/// A compiled PCRE2 regex (UTF + UCP, JIT when available). Thread-safe matching.
class Regex {
 public:
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  /// Non-overlapping matches left to right (empty matches skipped), as (start, end) bytes.
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

/// A Split / Replace pattern: a literal string or a regex.
struct Pattern {
  std::string literal;
  std::shared_ptr<Regex> regex;
  void find(std::string_view s, std::vector<PMatch>& out) const;
};
Pattern pattern_from_json(const nlohmann::json& j, const std::string& where);

/// NormalizedString::split with a behaviour, appending non-empty pieces to `out`.
void split_normalized(const NStr& n, const std::vector<PMatch>& matches, SplitBehavior behavior,
                      std::vector<NStr>& out);

// ---------------------------------------------------------------------------------------------
struct Normalizer {
  virtual ~Normalizer() = default;
  virtual void normalize(NStr& n) const = 0;
};

/// One split of the pre-tokenized string: its normalized piece and, once known, its tokens.
struct PToken {
  int64_t id;
  std::string value;
  uint32_t b, e;  ///< normalized byte offsets within the split
};
struct Split {
  NStr n;
  bool has_tokens = false;
  std::vector<PToken> tokens;
};

struct PreTokenizer {
  virtual ~PreTokenizer() = default;
  /// Splits every split that has no tokens yet (empty pieces are dropped). `pre_split`: the
  /// input is one word of pre-split text (ByteLevel then adds the prefix space, as HF requires).
  virtual void pre_tokenize(std::vector<Split>& splits, bool pre_split) const = 0;
  /// Whether a ByteLevel pre-tokenizer is inside.
  virtual bool has_byte_level() const { return false; }
};

struct ByteLevelPre final : PreTokenizer {
  bool add_prefix_space = true, trim_offsets = true, use_regex = true;
  void pre_tokenize(std::vector<Split>& splits, bool pre_split) const override;
  bool has_byte_level() const override { return true; }
};

struct Model {
  virtual ~Model() = default;
  /// Tokens of one non-empty split (offsets in bytes of `s`).
  virtual void tokenize(std::string_view s, std::vector<PToken>& out) const = 0;
  virtual int64_t token_to_id(std::string_view t) const = 0;
  /// nullptr when the id is not in the model.
  virtual const std::string* id_to_token(int64_t id) const = 0;
  virtual int64_t size() const = 0;  ///< max id + 1
  virtual std::string type() const = 0;
};

struct Decoder {
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

/// Post-processing: offset trimming (ByteLevel / RobertaProcessing trim_offsets), Roberta's all-0
/// type ids, and a template (Bert/Roberta/TemplateProcessing), in tokenizer.json order.
struct PostSpec {
  struct Trim {
    bool add_prefix_space = false;
  };
  std::vector<Trim> trims;
  bool zero_type_ids = false;
  PostTemplate tmpl;  ///< enabled=false → nothing added
};

// Component factories (components.cpp); FormatError naming `path` and the field otherwise.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& j, const std::string& path, const std::string& where);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& j, const std::string& path,
                                                 const std::string& where);
std::unique_ptr<Model> make_model(const nlohmann::json& j, const std::string& path);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& j, const std::string& path, const std::string& where);
PostSpec make_post(const nlohmann::json& j, const std::string& path, const std::string& where);

/// The GPT-2 byte ↔ unicode maps.
const std::string& byte_char(uint8_t b);  ///< UTF-8 of the char standing for byte b
int char_byte(char32_t c);                ///< -1 when c is not a byte char

/// Options of the recipe tokenizer "bpe" (byte-level BPE from vocab.json + merges.txt).
struct ByteLevelBPEOptions {
  std::string vocab;   ///< vocab.json; empty = <model_dir>/vocab.json
  std::string merges;  ///< merges.txt; empty = <model_dir>/merges.txt
  bool add_prefix_space = false;
  bool trim_offsets = true;
  std::string template_ = "roberta";  ///< roberta | none
  void visit(OptionVisitor& v);
};
/// Options of the recipe tokenizer "tokenizer_json".
struct TokenizerJsonOptions {
  std::string path;  ///< tokenizer.json; empty = <model_dir>/tokenizer.json
  void visit(OptionVisitor& v);
};

// ---------------------------------------------------------------------------------------------
/// A tokenizer driven by a tokenizer.json document.
class PipelineTokenizer final : public Tokenizer {
 public:
  /// `doc` is a full tokenizer.json object; `source` names it in messages.
  PipelineTokenizer(nlohmann::json doc, std::string source);
  /// Registry constructors (recipe `[tokenizer] type = "bpe"` / `"tokenizer_json"`).
  PipelineTokenizer(const ByteLevelBPEOptions& o, const TokenizerContext& ctx);
  PipelineTokenizer(const TokenizerJsonOptions& o, const TokenizerContext& ctx);

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
  int64_t num_special_tokens(bool pair) const override { return post_.tmpl.num_added(pair); }
  std::string kind() const override;

  /// Role tokens (tokenizer_config.json / special_tokens_map.json); "" = none.
  void set_roles(const std::string& unk, const std::string& cls, const std::string& sep, const std::string& pad,
                 const std::string& mask);
  const std::string& role(const char* name) const;
  /// Adds tokens to the added vocabulary (ids after the current vocabulary unless the token
  /// exists); returns how many were new. Updates the document.
  size_t add_tokens(std::vector<AddedToken> tokens);
  /// The tokenizer.json document (what save writes).
  const nlohmann::json& document() const { return doc_; }
  const std::string& source() const { return source_; }
  /// Model type ("BPE", "Unigram", "WordPiece", "WordLevel").
  std::string model_type() const { return model_->type(); }
  const Model& model() const { return *model_; }
  bool has_byte_level() const { return byte_level_; }
  /// tokenizer_config.json values kept for saving ("" / 0 when unknown).
  std::string tokenizer_class;
  int64_t model_max_length = 0;
  /// Encodes the pieces of one string (no post-processing); offsets are byte ranges into text.
  Enc encode_text(std::string_view text, int64_t type_id, int64_t fixed_word, bool prefix_space) const;

 private:
  struct Matcher {
    std::vector<size_t> patterns;  ///< indices into added_, longest first
    std::vector<std::string> texts;
    bool first_byte[256] = {};
    bool empty() const { return patterns.empty(); }
  };
  void build_added();
  void find_matches(std::string_view s, const Matcher& m, std::vector<std::pair<int64_t, PMatch>>& out) const;
  void split_added(std::vector<Split>& splits, const Matcher& m) const;
  Enc encode_sequence(const TextInput& input, bool pair) const;

  nlohmann::json doc_;
  std::string source_;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Decoder> decoder_;
  PostSpec post_;
  bool byte_level_ = false;  ///< a ByteLevel pre-tokenizer is used
  std::vector<AddedToken> added_;
  TokenMap added_by_content_;
  std::unordered_map<int64_t, size_t> added_by_id_;
  Matcher raw_matcher_, normalized_matcher_;
  std::string unk_, cls_, sep_, pad_, mask_;
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, mask_id_ = -1;
};

/// tokenizer.json → PipelineTokenizer (FormatError naming the file and field otherwise).
std::shared_ptr<PipelineTokenizer> read_pipeline_json(const std::string& path);
/// The tokenizer.json document of a RoBERTa/GPT-2 style byte-level BPE from vocab.json +
/// merges.txt (RobertaTokenizer's slow files); `roberta` adds <s> A </s> (</s> B </s>).
nlohmann::json byte_level_bpe_document(const std::string& vocab_json, const std::string& merges_txt,
                                       bool add_prefix_space, bool trim_offsets, bool roberta,
                                       const std::vector<AddedToken>& added);

/// Loader helpers (pipeline_io.cpp), used by load_tokenizer / save_tokenizer.
/// True when tokenizer.json is the BERT layout the WordPiece fast path reads exactly.
bool is_bert_wordpiece_json(const nlohmann::json& doc);
/// tokenizer.json of `dir` (already parsed) + tokenizer_config.json / special_tokens_map.json.
std::shared_ptr<PipelineTokenizer> load_pipeline_dir(const std::string& dir, nlohmann::json doc);
/// vocab.json + merges.txt (+ tokenizer_config.json, special_tokens_map.json, added_tokens.json).
std::shared_ptr<PipelineTokenizer> load_byte_level_bpe_dir(const std::string& dir);
/// Writes tokenizer.json (+ vocab.json/merges.txt for byte-level BPE), tokenizer_config.json and
/// special_tokens_map.json.
void save_pipeline(const PipelineTokenizer& t, const std::string& dir);

}  // namespace graft::core::tok
