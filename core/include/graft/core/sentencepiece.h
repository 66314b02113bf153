#pragma once
// SentencePiece tokenizers (XLM-R, ALBERT, CamemBERT) with transformers 4.7.0 slow-tokenizer
// semantics: fairseq id mapping (XLM-R, CamemBERT), ALBERT's text preprocessing and
// digit-comma re-splitting, literal special tokens split out of the text (lstrip on the mask),
// HF templates, truncation/overflow windows (tokenizers 0.22 algorithm) and decode.
// sentencepiece itself runs in the isolated module libgraft_spm.so (see core/spm/graft_spm.h).
#include <graft/options.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>
#include <graft/value.h>

#include <memory>
#include <string>

namespace graft::core {

/// Options of the "sentencepiece" tokenizer (recipe `[tokenizer] type = "sentencepiece"`).
struct SentencePieceOptions {
  /// The .model file; relative to the model/recipe directory. Empty = the directory's
  /// sentencepiece.bpe.model or spiece.model.
  std::string model;
  /// xlmr | albert | camembert: id mapping, template and preprocessing defaults.
  std::string flavour = "xlmr";
  /// null = the flavour's default (albert: true; xlmr, camembert: false).
  Value do_lower_case;
  /// null = the flavour's default (albert: false = NFKD + drop combining marks; others: true).
  Value keep_accents;
  /// null = the flavour's default (albert: true = strip + collapse whitespace; others: false).
  Value remove_space;
  /// original: UTF-8 byte offsets into the caller's text (default); preprocessed: into the text
  /// as preprocessed for sentencepiece (what AlbertTokenizer's reference offsets index).
  std::string offsets = "original";
  /// Role tokens; empty = the flavour's default (<s> </s> <unk> <pad> <mask>; ALBERT [CLS] [SEP] <unk> <pad> [MASK]).
  std::string unk_token, cls_token, sep_token, pad_token, mask_token;
  /// Extra special tokens (must be pieces of the model), split out of the text whole.
  std::vector<std::string> additional_special_tokens;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

/// Builds a SentencePiece tokenizer from options; a relative `model` resolves against base_dir.
std::shared_ptr<Tokenizer> make_sentencepiece(const SentencePieceOptions& options, const std::string& base_dir);

/// Loads an HF model directory with sentencepiece.bpe.model or spiece.model (no tokenizer.json),
/// configured from tokenizer_config.json (tokenizer_class, do_lower_case, keep_accents,
/// remove_space) and special_tokens_map.json. nullptr when the directory has neither file.
std::shared_ptr<Tokenizer> load_sentencepiece_dir(const std::string& dir);

/// When `tokenizer` is a SentencePiece tokenizer: writes the model file (same name as read),
/// tokenizer_config.json and special_tokens_map.json atomically and returns true; else false.
bool save_sentencepiece(const Tokenizer& tokenizer, const std::string& dir);

/// Registers "sentencepiece".
void register_sentencepiece_tokenizer(Registrar& r);

}  // namespace graft::core
