#pragma once
// SentencePiece tokenizer (XLM-R, ALBERT, CamemBERT flavours). Internal to core; the public
// face is <graft/core/sentencepiece.h>.
#include "encoding_ops.h"
#include "spm_module.h"

#include <graft/core/sentencepiece.h>
#include <graft/registrar.h>
#include <graft/tokenizer.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace graft::core::tok {

enum class SpmFlavour { xlmr, albert, camembert };

/// A special token as transformers handles it: a plain string (whitespace stripped on both
/// sides when split out of text) or an AddedToken (only the sides it names).
struct SpmSpecial {
  std::string content;
  bool added_token = false;
  bool lstrip = false, rstrip = false;
};

struct SpmConfig {
  std::string model_path;       ///< for messages and the saved file name
  std::string model_bytes;      ///< the serialized model
  SpmFlavour flavour = SpmFlavour::xlmr;
  bool lowercase = false, remove_space = false, keep_accents = true;
  bool offsets_preprocessed = false;
  /// bos, eos, unk, sep, pad, cls, mask (empty = none), then the additional ones.
  SpmSpecial bos, eos, unk, sep, pad, cls, mask;
  std::vector<SpmSpecial> additional;
  int64_t model_max_length = 512;
};

const char* flavour_name(SpmFlavour f);
/// HF tokenizer_class of a flavour ("XLMRobertaTokenizer" …).
const char* flavour_class(SpmFlavour f);

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const SentencePieceOptions& options, const TokenizerContext& ctx);
  explicit SentencePieceTokenizer(SpmConfig config);

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
  int64_t num_special_tokens(bool pair) const override { return post_.num_added(pair); }
  std::string kind() const override { return "sentencepiece"; }

  const SpmConfig& config() const { return cfg_; }
  const SpmModel& model() const { return *sp_; }

  /// One character of the working text with the byte range of the caller's text it came from.
  struct NChar {
    char32_t c;
    uint32_t b, e;
  };

 private:
  struct Chunk {
    std::vector<NChar> chars;
    int special = -1;  ///< index into specials_ when the chunk is a special token
  };
  void init();
  /// HF ids of a piece string (spm unknown → the unk id).
  int64_t piece_id(std::string_view piece) const;
  int64_t spm_to_hf(int32_t spm_id) const;
  std::vector<Chunk> split_specials(std::vector<NChar> chars) const;
  void lower_except_specials(std::vector<NChar>& chars) const;
  std::vector<NChar> preprocess(const std::vector<NChar>& chars) const;
  void tokenize_chunk(const std::vector<NChar>& chars, int64_t type_id, int64_t fixed_word, int64_t& word,
                      uint32_t& pre_base, Enc& out) const;
  void encode_text(std::string_view text, int64_t type_id, int64_t fixed_word, Enc& out) const;
  Enc encode_sequence(const TextInput& input, bool pair) const;

  SpmConfig cfg_;
  std::unique_ptr<SpmModel> sp_;
  int32_t sp_size_ = 0, sp_unk_ = 0;
  int64_t offset_ = 0;  ///< fairseq offset (xlmr 1, camembert 4, albert 0)
  std::map<std::string, int64_t, std::less<>> fairseq_;  ///< token → id
  std::map<int64_t, std::string> fairseq_ids_;
  std::vector<SpmSpecial> specials_;       ///< all special tokens (HF all_special_tokens order)
  std::vector<size_t> no_split_order_;     ///< indices into specials_, sorted by content
  std::vector<int64_t> special_ids_;       ///< all_special_ids
  int64_t unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, pad_id_ = -1, mask_id_ = -1;
  PostTemplate post_;
};

}  // namespace graft::core::tok
