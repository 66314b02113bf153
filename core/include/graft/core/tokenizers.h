#pragma once
// Core tokenizer implementations and loading/saving of HF tokenizer directories.
//
// WordPiece (BERT family) follows HF tokenizers (Rust) semantics exactly: BertNormalizer
// (clean_text, handle_chinese_chars, strip_accents, lowercase), BertPreTokenizer, WordPiece
// greedy longest-match-first, added tokens matched in the raw text, TemplateProcessing,
// truncation with stride/overflow windows in HF order, and the WordPiece decoder.
#include <graft/error.h>
#include <graft/options.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>
#include <graft/value.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace graft::core {

/// A refused truncation (HF tokenizers' errors): kind() is "SequenceTooShort" (the sequence to
/// truncate cannot shrink enough), "StrideTooLarge" (stride >= the room left for the truncated
/// sequence) or "SecondSequenceNotProvided" (only_second without a pair).
class TruncationError : public DataError {
 public:
  TruncationError(std::string kind, const std::string& message);
  ~TruncationError() override;
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
};

/// Options of the "wordpiece" tokenizer (recipe `[tokenizer] type = "wordpiece"`).
struct WordPieceOptions {
  /// vocab.txt (one token per line, id = line index). Relative paths resolve against the
  /// model directory / recipe directory. Empty = "<model_dir>/vocab.txt".
  std::string vocab;
  bool lowercase = true;
  /// null (absent) = follow `lowercase` (HF default); true / false to force.
  Value strip_accents;
  bool tokenize_chinese_chars = true;
  bool clean_text = true;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  /// Extra special tokens (must be in the vocab); matched in text like [MASK].
  std::vector<std::string> additional_special_tokens;
  std::string continuing_subword_prefix = "##";
  int64_t max_input_chars_per_word = 100;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

/// Loads the tokenizer of an HF model directory: tokenizer.json when present (any HF pipeline of
/// the supported normalizers / pre-tokenizers / models BPE, Unigram, WordPiece, WordLevel /
/// post-processors / decoders; an unsupported component → FormatError naming it), else
/// sentencepiece model files, else vocab.txt (WordPiece), else vocab.json + merges.txt (byte-level
/// BPE), each with tokenizer_config.json / special_tokens_map.json. FormatError naming the
/// directory and the files looked for when none exists.
std::shared_ptr<Tokenizer> load_tokenizer(const std::string& model_dir);

/// Builds a WordPiece tokenizer from options; a relative `vocab` resolves against base_dir.
std::shared_ptr<Tokenizer> make_wordpiece(const WordPieceOptions& options, const std::string& base_dir);

/// Writes the tokenizer's files (tokenizer.json + vocab.txt or vocab.json/merges.txt where
/// applicable, tokenizer_config.json, special_tokens_map.json) so that HF AutoTokenizer (and
/// load_tokenizer) load `dir`. ConfigError for tokenizer kinds that
/// cannot be saved.
void save_tokenizer(const Tokenizer& tokenizer, const std::string& dir);

/// Registers the built-in tokenizers ("wordpiece", "bpe", "tokenizer_json", ...).
void register_core_tokenizers(Registrar& r);

/// transformers' `clean_up_tokenization` (4.x): " ." → ".", " ?", " !", " ,", " ' " → "'",
/// " n't", " 'm", " 's", " 've", " 're". Applied by `tokenizer.decode(...,
/// clean_up_tokenization_spaces=True)` on top of the tokenizer's decoder output.
std::string clean_up_tokenization(std::string_view text);

}  // namespace graft::core
