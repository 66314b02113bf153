// SentencePiece tokenizers with transformers 4.7.0 slow-tokenizer semantics
// (XLMRobertaTokenizer, AlbertTokenizer, CamembertTokenizer), offsets from sentencepiece's
// piece spans mapped back through every preprocessing step to the caller's UTF-8 bytes.
#include "sentencepiece.h"

#include "unicode.h"

#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

namespace fs = std::filesystem;

namespace graft::core::tok {

namespace {

using NChar = SentencePieceTokenizer::NChar;

constexpr std::string_view kUnderline = "\xE2\x96\x81";  // U+2581 ▁

// Python's str.isspace (what str.split() / str.strip() use).
bool py_space(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

std::vector<NChar> to_chars(std::string_view s, uint32_t base) {
  std::vector<NChar> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t c = 0;
    size_t len = decode_utf8(s.data(), s.size(), i, c);
    if (len == 0) throw DataError(cat("text is not valid UTF-8 at byte ", base + i));
    out.push_back(NChar{c, static_cast<uint32_t>(base + i), static_cast<uint32_t>(base + i + len)});
    i += len;
  }
  return out;
}

std::string utf8_of(const std::vector<NChar>& chars) {
  std::string s;
  s.reserve(chars.size());
  for (const auto& c : chars) append_utf8(s, c.c);
  return s;
}

std::u32string u32_of(std::string_view s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    char32_t c = 0;
    size_t len = decode_utf8(s.data(), s.size(), i, c);
    if (len == 0) {
      c = 0xFFFD;
      len = 1;
    }
    out.push_back(c);
    i += len;
  }
  return out;
}

bool starts_with(const std::vector<NChar>& chars, size_t at, const std::u32string& pat) {
  if (pat.empty() || at + pat.size() > chars.size()) return false;
  for (size_t k = 0; k < pat.size(); ++k)
    if (chars[at + k].c != pat[k]) return false;
  return true;
}

void rstrip(std::vector<NChar>& v) {
  while (!v.empty() && py_space(v.back().c)) v.pop_back();
}
void lstrip(std::vector<NChar>& v) {
  size_t k = 0;
  while (k < v.size() && py_space(v[k].c)) ++k;
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k));
}

bool is_digit(char32_t c) {
  if (c >= '0' && c <= '9') return true;
  if (c < 0x80) return false;
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}

SpmSpecial plain(std::string s) { return SpmSpecial{std::move(s), false, false, false}; }
SpmSpecial mask_token(std::string s) { return SpmSpecial{std::move(s), true, true, false}; }

std::string python_strip(std::string s) {
  // str.strip() over the UTF-8 string.
  std::vector<NChar> chars = to_chars(s, 0);
  rstrip(chars);
  lstrip(chars);
  return utf8_of(chars);
}

}  // namespace

const char* flavour_name(SpmFlavour f) {
  switch (f) {
    case SpmFlavour::albert: return "albert";
    case SpmFlavour::camembert: return "camembert";
    default: return "xlmr";
  }
}
const char* flavour_class(SpmFlavour f) {
  switch (f) {
    case SpmFlavour::albert: return "AlbertTokenizer";
    case SpmFlavour::camembert: return "CamembertTokenizer";
    default: return "XLMRobertaTokenizer";
  }
}

SentencePieceTokenizer::SentencePieceTokenizer(SpmConfig config) : cfg_(std::move(config)) { init(); }

void SentencePieceTokenizer::init() {
  sp_ = std::make_unique<SpmModel>(cfg_.model_bytes, cfg_.model_path);
  sp_size_ = sp_->size();
  sp_unk_ = sp_->unk_id();
  if (cfg_.flavour == SpmFlavour::xlmr) {
    fairseq_ = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}};
    offset_ = 1;
    fairseq_["<mask>"] = sp_size_ + offset_;
  } else if (cfg_.flavour == SpmFlavour::camembert) {
    fairseq_ = {{"<s>NOTUSED", 0}, {"<pad>", 1}, {"</s>NOTUSED", 2}, {"<unk>", 3}};
    offset_ = 4;
    fairseq_["<mask>"] = sp_size_ + offset_;
  }
  for (const auto& [t, id] : fairseq_) fairseq_ids_[id] = t;

  // all_special_tokens: bos, eos, unk, sep, pad, cls, mask, additional (first occurrence kept).
  for (const SpmSpecial* s : {&cfg_.bos, &cfg_.eos, &cfg_.unk, &cfg_.sep, &cfg_.pad, &cfg_.cls, &cfg_.mask}) {
    if (s->content.empty()) continue;
    bool dup = std::any_of(specials_.begin(), specials_.end(), [&](const SpmSpecial& x) { return x.content == s->content; });
    if (!dup) specials_.push_back(*s);
  }
  for (const auto& s : cfg_.additional) {
    bool dup = std::any_of(specials_.begin(), specials_.end(), [&](const SpmSpecial& x) { return x.content == s.content; });
    if (!dup && !s.content.empty()) specials_.push_back(s);
  }
  for (const auto& s : specials_) {
    check_utf8(s.content, "a special token");
    int64_t id = token_to_id(s.content);
    if (id < 0)
      throw FormatError(cat(cfg_.model_path, ": the special token '", s.content,
                            "' is not a piece of this SentencePiece model (", flavour_name(cfg_.flavour), " flavour)"));
    special_ids_.push_back(id);
  }
  no_split_order_.resize(specials_.size());
  for (size_t i = 0; i < specials_.size(); ++i) no_split_order_[i] = i;
  std::sort(no_split_order_.begin(), no_split_order_.end(),
            [&](size_t a, size_t b) { return specials_[a].content < specials_[b].content; });

  auto role = [&](const SpmSpecial& s) { return s.content.empty() ? int64_t{-1} : token_to_id(s.content); };
  unk_id_ = role(cfg_.unk);
  cls_id_ = role(cfg_.cls);
  sep_id_ = role(cfg_.sep);
  pad_id_ = role(cfg_.pad);
  mask_id_ = role(cfg_.mask);
  if (cls_id_ < 0 || sep_id_ < 0)
    throw FormatError(cat(cfg_.model_path, ": a SentencePiece tokenizer needs cls and sep tokens"));
  if (unk_id_ < 0) throw FormatError(cat(cfg_.model_path, ": a SentencePiece tokenizer needs an unk token"));

  // Templates: XLM-R / CamemBERT `<s> A </s>` + `<s> A </s></s> B </s>` (type ids 0);
  // ALBERT `[CLS] A [SEP]` + `[CLS] A [SEP] B [SEP]` (B and its [SEP] type 1).
  const std::string& c = cfg_.cls.content;
  const std::string& s = cfg_.sep.content;
  post_.special_tokens = {TemplateSpecial{c, {cls_id_}, {c}}};
  if (s != c) post_.special_tokens.push_back(TemplateSpecial{s, {sep_id_}, {s}});
  auto sp = [](const std::string& id, int64_t type) { return TemplatePiece{false, 0, id, type}; };
  auto sq = [](int k, int64_t type) { return TemplatePiece{true, k, "", type}; };
  post_.single = {sp(c, 0), sq(0, 0), sp(s, 0)};
  if (cfg_.flavour == SpmFlavour::albert)
    post_.pair = {sp(c, 0), sq(0, 0), sp(s, 0), sq(1, 1), sp(s, 1)};
  else
    post_.pair = {sp(c, 0), sq(0, 0), sp(s, 0), sp(s, 0), sq(1, 0), sp(s, 0)};
}

int64_t SentencePieceTokenizer::spm_to_hf(int32_t spm_id) const {
  if (offset_ == 0) return spm_id;
  if (spm_id == sp_unk_) return fairseq_.at("<unk>");
  return spm_id + offset_;
}

int64_t SentencePieceTokenizer::piece_id(std::string_view piece) const {
  if (!fairseq_.empty()) {
    if (auto it = fairseq_.find(piece); it != fairseq_.end()) return it->second;
  }
  int32_t id = sp_->piece_to_id(piece);
  return spm_to_hf(id < 0 ? sp_unk_ : id);
}

int64_t SentencePieceTokenizer::vocab_size() const {
  if (offset_ == 0) return sp_size_;
  return sp_size_ + offset_ + 1;  // + <mask>
}

int64_t SentencePieceTokenizer::token_to_id(std::string_view token) const {
  if (auto it = fairseq_.find(token); it != fairseq_.end()) return it->second;
  int32_t id = sp_->piece_to_id(token);
  if (id < 0) return -1;
  return spm_to_hf(id);
}

std::string SentencePieceTokenizer::id_to_token(int64_t id) const {
  if (auto it = fairseq_ids_.find(id); it != fairseq_ids_.end()) return it->second;
  int64_t sp = id - offset_;
  if (sp < 0 || sp >= sp_size_) return {};
  return std::string(sp_->id_to_piece(static_cast<int32_t>(sp)));
}

// PreTrainedTokenizer.tokenize (4.7.0) with do_lower_case: every character is lower-cased on its
// own (the regex `(specials)|(.+?)`), except inside special-token strings; '\n' is left alone.
void SentencePieceTokenizer::lower_except_specials(std::vector<NChar>& chars) const {
  std::vector<std::u32string> pats;
  for (const auto& s : specials_) pats.push_back(u32_of(s.content));
  std::vector<NChar> out;
  out.reserve(chars.size());
  char32_t low[4];
  for (size_t i = 0; i < chars.size();) {
    size_t matched = 0;
    for (const auto& p : pats)
      if (starts_with(chars, i, p)) {
        matched = p.size();
        break;
      }
    if (matched) {
      out.insert(out.end(), chars.begin() + i, chars.begin() + i + matched);
      i += matched;
      continue;
    }
    const NChar& ch = chars[i++];
    if (ch.c == '\n') {
      out.push_back(ch);
      continue;
    }
    int n = to_lower(ch.c, low);
    for (int k = 0; k < n; ++k) out.push_back(NChar{low[k], ch.b, ch.e});
  }
  chars = std::move(out);
}

// tokenize()'s split_on_tokens: the text is split on each no-split token in sorted order;
// around a plain-string token whitespace is stripped on both sides, around an AddedToken only
// where it says (lstrip: the text before it loses its trailing whitespace).
std::vector<SentencePieceTokenizer::Chunk> SentencePieceTokenizer::split_specials(std::vector<NChar> chars) const {
  std::vector<Chunk> list;
  {
    bool blank = std::all_of(chars.begin(), chars.end(), [](const NChar& c) { return py_space(c.c); });
    if (blank) return list;  // `if not text.strip(): return []`
  }
  list.push_back(Chunk{std::move(chars), -1});
  for (size_t oi : no_split_order_) {
    const SpmSpecial& tok = specials_[oi];
    std::u32string pat = u32_of(tok.content);
    std::vector<Chunk> next;
    for (auto& chunk : list) {
      if (chunk.special >= 0) {
        next.push_back(std::move(chunk));
        continue;
      }
      // Python str.split(tok): non-overlapping, left to right.
      std::vector<std::vector<NChar>> parts;
      std::vector<std::pair<uint32_t, uint32_t>> hits;  // source range of each occurrence
      size_t start = 0, i = 0;
      const auto& cs = chunk.chars;
      while (i < cs.size()) {
        if (starts_with(cs, i, pat)) {
          parts.emplace_back(cs.begin() + start, cs.begin() + i);
          hits.emplace_back(cs[i].b, cs[i + pat.size() - 1].e);
          i += pat.size();
          start = i;
        } else {
          ++i;
        }
      }
      parts.emplace_back(cs.begin() + start, cs.end());
      if (parts.size() == 1) {
        next.push_back(std::move(chunk));
        continue;
      }
      auto token_chunk = [&](size_t k) {
        Chunk t;
        t.special = static_cast<int>(oi);
        // one pseudo-char carrying the occurrence's source range
        t.chars.push_back(NChar{0, hits[k].first, hits[k].second});
        return t;
      };
      for (size_t k = 0; k < parts.size(); ++k) {
        auto& sub = parts[k];
        bool last = k + 1 == parts.size();
        if (tok.added_token) {
          if (tok.rstrip && k > 0) lstrip(sub);
          if (tok.lstrip && !last) rstrip(sub);
        } else {
          if (!last) rstrip(sub);
          if (k > 0) lstrip(sub);
        }
        if (k == 0 && sub.empty()) {
          next.push_back(token_chunk(k));
        } else if (last) {
          if (!sub.empty()) next.push_back(Chunk{std::move(sub), -1});
        } else {
          if (!sub.empty()) next.push_back(Chunk{std::move(sub), -1});
          next.push_back(token_chunk(k));
        }
      }
    }
    list = std::move(next);
  }
  return list;
}

// AlbertTokenizer.preprocess_text: remove_space (strip, collapse whitespace runs to one space),
// `` and '' → ", NFKD + drop combining marks unless keep_accents, lower-case. Each output char
// keeps the source range of the input char(s) it came from.
std::vector<NChar> SentencePieceTokenizer::preprocess(const std::vector<NChar>& in) const {
  std::vector<NChar> a;
  if (cfg_.remove_space) {
    a.reserve(in.size());
    size_t i = 0, n = in.size();
    while (i < n && py_space(in[i].c)) ++i;
    size_t end = n;
    while (end > i && py_space(in[end - 1].c)) --end;
    while (i < end) {
      if (py_space(in[i].c)) {
        size_t j = i;
        while (j < end && py_space(in[j].c)) ++j;
        a.push_back(NChar{' ', in[i].b, in[j - 1].e});
        i = j;
      } else {
        a.push_back(in[i++]);
      }
    }
  } else {
    a = in;
  }
  // `` → " then '' → " (two passes, as the two str.replace calls)
  for (char32_t q : {U'`', U'\''}) {
    std::vector<NChar> b;
    b.reserve(a.size());
    for (size_t i = 0; i < a.size();) {
      if (a[i].c == q && i + 1 < a.size() && a[i + 1].c == q) {
        b.push_back(NChar{'"', a[i].b, a[i + 1].e});
        i += 2;
      } else {
        b.push_back(a[i++]);
      }
    }
    a = std::move(b);
  }
  if (!cfg_.keep_accents) {
    std::vector<NChar> b;
    b.reserve(a.size());
    utf8proc_int32_t buf[32];
    for (const auto& ch : a) {
      if (ch.c < 0x80) {
        b.push_back(ch);
        continue;
      }
      int last = 0;
      utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(ch.c), buf, 32,
                                                   static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT),
                                                   &last);
      if (n < 0 || n > 32) {
        b.push_back(ch);
        continue;
      }
      for (utf8proc_ssize_t k = 0; k < n; ++k) {
        const utf8proc_property_t* p = utf8proc_get_property(buf[k]);
        if (p->combining_class != 0) continue;  // unicodedata.combining(c) != 0
        b.push_back(NChar{static_cast<char32_t>(buf[k]), ch.b, ch.e});
      }
    }
    a = std::move(b);
  }
  if (cfg_.lowercase) {
    std::vector<NChar> b;
    b.reserve(a.size());
    char32_t low[4];
    for (const auto& ch : a) {
      if (ch.c < 0x80) {
        char32_t c = ch.c >= 'A' && ch.c <= 'Z' ? ch.c + 32 : ch.c;
        b.push_back(NChar{c, ch.b, ch.e});
        continue;
      }
      int n = to_lower(ch.c, low);
      for (int k = 0; k < n; ++k) b.push_back(NChar{low[k], ch.b, ch.e});
    }
    a = std::move(b);
  }
  return a;
}

// _tokenize of one chunk: preprocess, sentencepiece, (ALBERT) digit-comma re-split; each piece
// gets its HF id and its span mapped back to the source.
void SentencePieceTokenizer::tokenize_chunk(const std::vector<NChar>& raw, int64_t type_id, int64_t fixed_word,
                                            int64_t& word, uint32_t& pre_base, Enc& out) const {
  const bool identity = !cfg_.remove_space && cfg_.keep_accents && !cfg_.lowercase;
  std::vector<NChar> pre = identity ? raw : preprocess(raw);
  std::string text = utf8_of(pre);
  // byte → char index in `pre`
  std::vector<uint32_t> char_at(text.size() + 1, static_cast<uint32_t>(pre.size()));
  {
    size_t p = 0;
    for (size_t k = 0; k < pre.size(); ++k) {
      size_t len = utf8_len(pre[k].c);
      for (size_t j = 0; j < len; ++j) char_at[p + j] = static_cast<uint32_t>(k);
      p += len;
    }
  }
  const uint32_t end_src = pre.empty() ? (raw.empty() ? 0 : raw.back().e) : pre.back().e;
  const uint32_t base = pre_base;
  pre_base += static_cast<uint32_t>(text.size());
  auto span = [&](uint32_t pb, uint32_t pe) -> std::pair<int64_t, int64_t> {
    pb = std::min<uint32_t>(pb, static_cast<uint32_t>(text.size()));
    pe = std::min<uint32_t>(std::max(pe, pb), static_cast<uint32_t>(text.size()));
    if (cfg_.offsets_preprocessed) return {base + pb, base + pe};
    if (pe > pb) return {pre[char_at[pb]].b, pre[char_at[pe - 1]].e};
    uint32_t at = pb < text.size() ? pre[char_at[pb]].b : end_src;
    return {at, at};
  };
  std::vector<SpmPiece> pieces;
  sp_->encode(text, pieces);
  auto emit = [&](std::string token, int64_t id, std::pair<int64_t, int64_t> off) {
    bool starts_word = token.compare(0, kUnderline.size(), kUnderline) == 0;
    if (fixed_word < 0 && (starts_word || out.words.empty() || out.words.back() < 0)) ++word;
    int64_t w = fixed_word >= 0 ? fixed_word : word;
    out.push(id, std::move(token), off.first, off.second, w, type_id);
  };
  std::vector<SpmPiece> sub;
  for (auto& p : pieces) {
    int64_t id = sp_->is_unknown(p.id) ? spm_to_hf(sp_unk_) : piece_id(p.piece);
    if (cfg_.flavour == SpmFlavour::albert) {
      std::u32string pc = u32_of(p.piece);
      if (pc.size() > 1 && pc.back() == U',' && is_digit(pc[pc.size() - 2])) {
        // AlbertTokenizer._tokenize: re-encode the piece without its comma and without ▁.
        std::string inner = p.piece.substr(0, p.piece.size() - 1);
        std::string stripped;
        for (size_t k = 0; k < inner.size();) {
          if (inner.compare(k, kUnderline.size(), kUnderline) == 0) {
            k += kUnderline.size();
          } else {
            stripped.push_back(inner[k++]);
          }
        }
        sp_->encode(stripped, sub);
        std::vector<std::string> cur;
        for (auto& s : sub) cur.push_back(s.piece);
        bool piece_ul = p.piece.compare(0, kUnderline.size(), kUnderline) == 0;
        if (!piece_ul && !cur.empty() && cur[0].compare(0, kUnderline.size(), kUnderline) == 0) {
          if (cur[0].size() == kUnderline.size())
            cur.erase(cur.begin());
          else
            cur[0].erase(0, kUnderline.size());
        }
        // spans: the first sub-piece starts where the piece starts (its whitespace included);
        // the following ones are consecutive; the comma is the piece's last byte.
        uint32_t last_b = p.end > p.begin ? p.end - 1 : p.begin;
        uint32_t cursor = p.begin;
        while (cursor < last_b && text[cursor] == ' ') ++cursor;
        for (size_t k = 0; k < cur.size(); ++k) {
          size_t len = cur[k].size();
          if (cur[k].compare(0, kUnderline.size(), kUnderline) == 0) len -= kUnderline.size();
          uint32_t b = k == 0 ? p.begin : cursor;
          cursor = std::min<uint32_t>(cursor + static_cast<uint32_t>(len), last_b);
          int64_t sid = piece_id(cur[k]);
          emit(cur[k], sid, span(b, cursor));
        }
        emit(",", piece_id(","), span(last_b, p.end));
        continue;
      }
    }
    emit(std::move(p.piece), id, span(p.begin, p.end));
  }
}

void SentencePieceTokenizer::encode_text(std::string_view text, int64_t type_id, int64_t fixed_word,
                                         Enc& out) const {
  std::vector<NChar> chars = to_chars(text, 0);
  if (cfg_.lowercase) lower_except_specials(chars);
  std::vector<Chunk> chunks = split_specials(std::move(chars));
  int64_t word = -1;  // words are numbered from 0 per sequence (pre-split input: the word's index)
  uint32_t pre_base = 0;
  for (const auto& ch : chunks) {
    if (ch.special >= 0) {
      const SpmSpecial& s = specials_[static_cast<size_t>(ch.special)];
      int64_t w = fixed_word >= 0 ? fixed_word : ++word;
      int64_t b = ch.chars.front().b, e = ch.chars.front().e;
      if (cfg_.offsets_preprocessed) b = e = pre_base;
      out.push(token_to_id(s.content), s.content, b, e, w, type_id);
      continue;
    }
    tokenize_chunk(ch.chars, type_id, fixed_word, word, pre_base, out);
  }
}

Enc SentencePieceTokenizer::encode_sequence(const TextInput& input, bool pair) const {
  Enc out;
  // The pair's own type id (the template overrides it in the main window; overflow windows keep
  // it, as in HF): ALBERT's B segment is 1, XLM-R / CamemBERT use 0 throughout.
  const int64_t type_id = pair && cfg_.flavour == SpmFlavour::albert ? 1 : 0;
  if (!input.words.empty()) {
    const auto& words = pair ? input.pair_words : input.words;
    for (size_t i = 0; i < words.size(); ++i) {
      check_utf8(words[i], pair ? "a pair word" : "a word");
      encode_text(words[i], type_id, static_cast<int64_t>(i), out);
    }
  } else {
    const std::string& text = pair ? *input.pair : input.text;
    check_utf8(text, pair ? "the pair text" : "the text");
    out.reserve(text.size() / 3 + 4);
    encode_text(text, type_id, -1, out);
  }
  return out;
}

std::vector<Encoding> SentencePieceTokenizer::encode(const TextInput& input, const EncodeOptions& options) const {
  bool has_pair = input.words.empty() ? input.pair.has_value() : !input.pair_words.empty();
  Enc a = encode_sequence(input, false);
  std::optional<Enc> b;
  if (has_pair) b = encode_sequence(input, true);
  return finish(apply_template(std::move(a), std::move(b), options, post_), options.return_overflowing);
}

// PreTrainedTokenizer._decode (4.7.0) + convert_tokens_to_string of these tokenizers:
// "".join(tokens).replace("▁", " ").strip(); special ids dropped on request.
std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::string joined;
  for (int64_t id : ids) {
    if (skip_special_tokens && std::find(special_ids_.begin(), special_ids_.end(), id) != special_ids_.end()) continue;
    if (id < 0 || id >= vocab_size()) continue;
    joined += id_to_token(id);
  }
  std::string out;
  out.reserve(joined.size());
  for (size_t k = 0; k < joined.size();) {
    if (joined.compare(k, kUnderline.size(), kUnderline) == 0) {
      out.push_back(' ');
      k += kUnderline.size();
    } else {
      out.push_back(joined[k++]);
    }
  }
  return python_strip(std::move(out));
}

// ---- options, loading, saving ---------------------------------------------------------------

namespace {

SpmFlavour parse_flavour(const std::string& f, const std::string& where) {
  if (f == "xlmr" || f == "xlm-roberta" || f == "xlm_roberta") return SpmFlavour::xlmr;
  if (f == "albert") return SpmFlavour::albert;
  if (f == "camembert") return SpmFlavour::camembert;
  throw ConfigError(cat(where, ": flavour must be one of xlmr, albert, camembert; got '", f, "'"));
}

void set_flavour_defaults(SpmConfig& c) {
  if (c.flavour == SpmFlavour::albert) {
    c.bos = plain("[CLS]");
    c.eos = plain("[SEP]");
    c.unk = plain("<unk>");
    c.sep = plain("[SEP]");
    c.pad = plain("<pad>");
    c.cls = plain("[CLS]");
    c.mask = mask_token("[MASK]");
    c.lowercase = true;
    c.remove_space = true;
    c.keep_accents = false;
  } else {
    c.bos = plain("<s>");
    c.eos = plain("</s>");
    c.unk = plain("<unk>");
    c.sep = plain("</s>");
    c.pad = plain("<pad>");
    c.cls = plain("<s>");
    c.mask = mask_token("<mask>");
    c.lowercase = false;
    c.remove_space = false;
    c.keep_accents = true;
    if (c.flavour == SpmFlavour::camembert) c.additional = {plain("<s>NOTUSED"), plain("</s>NOTUSED")};
  }
}

std::string read_model_bytes(const std::string& path) {
  try {
    return read_file(path);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
}

const char* kModelFiles[] = {"sentencepiece.bpe.model", "spiece.model"};

}  // namespace

SpmConfig config_from_options(const SentencePieceOptions& o, const std::string& base_dir) {
  SpmConfig c;
  c.flavour = parse_flavour(o.flavour, "sentencepiece tokenizer");
  set_flavour_defaults(c);
  std::string path;
  if (!o.model.empty()) {
    path = resolve_path(base_dir, o.model);
  } else {
    for (const char* f : kModelFiles)
      if (fs::exists(fs::path(base_dir) / f)) {
        path = (fs::path(base_dir) / f).string();
        break;
      }
    if (path.empty())
      throw FormatError(cat("sentencepiece tokenizer: no sentencepiece.bpe.model or spiece.model in '", base_dir,
                            "' (set [tokenizer] model = \"path/to/file.model\")"));
  }
  if (!fs::exists(path)) throw FormatError(cat("sentencepiece tokenizer: model file ", path, " does not exist"));
  c.model_path = path;
  c.model_bytes = read_model_bytes(path);
  auto flag = [](const Value& v, bool dflt) { return v.is_bool() ? v.as_bool() : dflt; };
  c.lowercase = flag(o.do_lower_case, c.lowercase);
  c.keep_accents = flag(o.keep_accents, c.keep_accents);
  c.remove_space = flag(o.remove_space, c.remove_space);
  if (o.offsets != "original" && o.offsets != "preprocessed")
    throw ConfigError(cat("sentencepiece tokenizer: offsets must be 'original' or 'preprocessed', got '", o.offsets, "'"));
  c.offsets_preprocessed = o.offsets == "preprocessed";
  if (!o.unk_token.empty()) c.unk = plain(o.unk_token);
  if (!o.cls_token.empty()) c.cls = c.bos = plain(o.cls_token);
  if (!o.sep_token.empty()) c.sep = c.eos = plain(o.sep_token);
  if (!o.pad_token.empty()) c.pad = plain(o.pad_token);
  if (!o.mask_token.empty()) c.mask = mask_token(o.mask_token);
  for (const auto& t : o.additional_special_tokens) c.additional.push_back(plain(t));
  return c;
}

SentencePieceTokenizer::SentencePieceTokenizer(const SentencePieceOptions& options, const TokenizerContext& ctx)
    : SentencePieceTokenizer(config_from_options(options, ctx.model_dir)) {}

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

json parse_json(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
  try {
    json j = json::parse(text);
    if (!j.is_object()) throw FormatError(cat(path, ": expected a JSON object, got ", j.type_name()));
    return j;
  } catch (const json::exception& e) {
    throw FormatError(cat(path, ": invalid JSON: ", e.what()));
  }
}

// A special token in tokenizer_config.json / special_tokens_map.json: "…" or an AddedToken
// object {"content", "lstrip", "rstrip", …}. `is_mask`: a plain string still becomes an
// AddedToken with lstrip (what these tokenizers' constructors do).
std::optional<SpmSpecial> special_field(const json& j, const char* key, const std::string& path, bool is_mask) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return is_mask ? mask_token(it->get<std::string>()) : plain(it->get<std::string>());
  if (it->is_object()) {
    auto c = it->find("content");
    if (c == it->end() || !c->is_string())
      throw FormatError(cat(path, ": field '", key, ".content' must be a string"));
    SpmSpecial s{c->get<std::string>(), true, false, false};
    for (const char* f : {"lstrip", "rstrip"}) {
      auto b = it->find(f);
      if (b == it->end() || b->is_null()) continue;
      if (!b->is_boolean()) throw FormatError(cat(path, ": field '", key, ".", f, "' must be a boolean"));
      (std::string(f) == "lstrip" ? s.lstrip : s.rstrip) = b->get<bool>();
    }
    return s;
  }
  throw FormatError(cat(path, ": field '", key, "' must be a string or an AddedToken object, got ", it->type_name()));
}

bool bool_field(const json& j, const char* key, bool dflt, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) throw FormatError(cat(path, ": field '", key, "' must be a boolean, got ", it->type_name()));
  return it->get<bool>();
}

}  // namespace

}  // namespace graft::core::tok

namespace graft::core {

using tok::SpmConfig;
using tok::SpmFlavour;
using tok::SpmSpecial;

void SentencePieceOptions::visit(OptionVisitor& v) {
  v.optional("model", model,
             "the SentencePiece .model file; relative to the model/recipe directory; empty = "
             "<model_dir>/sentencepiece.bpe.model or spiece.model");
  v.optional("flavour", flavour,
             "id mapping and template: xlmr (fairseq ids, <s> A </s></s> B </s>), camembert (fairseq ids with "
             "<s>NOTUSED), albert (spm ids, [CLS] A [SEP] B [SEP], text preprocessing)",
             one_of({"xlmr", "albert", "camembert"}));
  v.optional("do_lower_case", do_lower_case, "lower-case the text; absent = flavour default (albert: true)");
  v.optional("keep_accents", keep_accents,
             "keep accents; false = NFKD + drop combining marks; absent = flavour default (albert: false)");
  v.optional("remove_space", remove_space,
             "strip the text and collapse whitespace runs; absent = flavour default (albert: true)");
  v.optional("offsets", offsets,
             "original = byte offsets into the input text; preprocessed = into the text as preprocessed for "
             "sentencepiece (AlbertTokenizer's reference)",
             one_of({"original", "preprocessed"}));
  v.optional("unk_token", unk_token, "unknown token; empty = flavour default");
  v.optional("cls_token", cls_token, "first token; empty = flavour default (<s> / [CLS])");
  v.optional("sep_token", sep_token, "separator token; empty = flavour default (</s> / [SEP])");
  v.optional("pad_token", pad_token, "padding token; empty = flavour default (<pad>)");
  v.optional("mask_token", mask_token, "mask token (eats the whitespace before it); empty = flavour default");
  v.optional("additional_special_tokens", additional_special_tokens,
             "more special tokens (pieces of the model), split out of the text whole");
}

void SentencePieceOptions::check(Diagnostics& d) const {
  const std::pair<const char*, const Value*> flags[] = {
      {"do_lower_case", &do_lower_case}, {"keep_accents", &keep_accents}, {"remove_space", &remove_space}};
  for (const auto& [key, val] : flags)
    if (!val->is_null() && !val->is_bool())
      d.error(key, cat("expected a boolean (or leave it out for the flavour's default), got ", val->type_name()),
              val->location());
}

std::shared_ptr<Tokenizer> make_sentencepiece(const SentencePieceOptions& options, const std::string& base_dir) {
  return std::make_shared<tok::SentencePieceTokenizer>(tok::config_from_options(options, base_dir));
}

std::shared_ptr<Tokenizer> load_sentencepiece_dir(const std::string& dir) {
  fs::path d(dir);
  std::string model;
  for (const char* f : tok::kModelFiles)
    if (fs::exists(d / f)) {
      model = f;
      break;
    }
  if (model.empty()) return nullptr;
  tok::json cfg = tok::json::object(), map = tok::json::object();
  std::string cfg_path = (d / "tokenizer_config.json").string(), map_path = (d / "special_tokens_map.json").string();
  if (fs::exists(cfg_path)) cfg = tok::parse_json(cfg_path);
  if (fs::exists(map_path)) map = tok::parse_json(map_path);

  // Flavour: tokenizer_class, else config.json's model_type, else the file name.
  SpmConfig c;
  std::string cls;
  if (auto it = cfg.find("tokenizer_class"); it != cfg.end() && !it->is_null()) {
    if (!it->is_string()) throw FormatError(cat(cfg_path, ": field 'tokenizer_class' must be a string"));
    cls = it->get<std::string>();
  }
  if (!cls.empty()) {
    std::string base = cls.size() > 4 && cls.compare(cls.size() - 4, 4, "Fast") == 0 ? cls.substr(0, cls.size() - 4) : cls;
    if (base == "XLMRobertaTokenizer")
      c.flavour = SpmFlavour::xlmr;
    else if (base == "AlbertTokenizer")
      c.flavour = SpmFlavour::albert;
    else if (base == "CamembertTokenizer")
      c.flavour = SpmFlavour::camembert;
    else
      throw FormatError(cat(cfg_path, ": tokenizer_class '", cls, "' with ", model,
                            " is not supported (graft reads XLMRobertaTokenizer, AlbertTokenizer and "
                            "CamembertTokenizer SentencePiece models)"));
  } else {
    std::string model_type;
    fs::path config_json = d / "config.json";
    if (fs::exists(config_json)) {
      tok::json j = tok::parse_json(config_json.string());
      if (auto it = j.find("model_type"); it != j.end() && it->is_string()) model_type = it->get<std::string>();
    }
    if (model_type == "camembert")
      c.flavour = SpmFlavour::camembert;
    else if (model_type == "albert")
      c.flavour = SpmFlavour::albert;
    else if (model_type == "xlm-roberta")
      c.flavour = SpmFlavour::xlmr;
    else
      c.flavour = model == "spiece.model" ? SpmFlavour::albert : SpmFlavour::xlmr;
  }
  tok::set_flavour_defaults(c);
  c.model_path = (d / model).string();
  c.model_bytes = tok::read_model_bytes(c.model_path);
  c.lowercase = tok::bool_field(cfg, "do_lower_case", c.lowercase, cfg_path);
  c.remove_space = tok::bool_field(cfg, "remove_space", c.remove_space, cfg_path);
  c.keep_accents = tok::bool_field(cfg, "keep_accents", c.keep_accents, cfg_path);
  if (auto it = cfg.find("model_max_length"); it != cfg.end() && it->is_number_integer())
    c.model_max_length = it->get<int64_t>();
  // tokenizer_config.json first, special_tokens_map.json overrides (from_pretrained order).
  for (const auto& [j, path] : {std::pair<const tok::json*, std::string>{&cfg, cfg_path}, {&map, map_path}}) {
    const std::pair<const char*, SpmSpecial*> roles[] = {{"bos_token", &c.bos}, {"eos_token", &c.eos},
                                                         {"unk_token", &c.unk}, {"sep_token", &c.sep},
                                                         {"pad_token", &c.pad}, {"cls_token", &c.cls},
                                                         {"mask_token", &c.mask}};
    for (const auto& [key, slot] : roles)
      if (auto s = tok::special_field(*j, key, path, std::string(key) == "mask_token")) *slot = *s;
    if (auto it = j->find("additional_special_tokens"); it != j->end() && !it->is_null()) {
      if (!it->is_array()) throw FormatError(cat(path, ": field 'additional_special_tokens' must be an array"));
      std::vector<SpmSpecial> add;
      for (size_t k = 0; k < it->size(); ++k) {
        tok::json holder = tok::json::object();
        holder["t"] = (*it)[k];
        auto s = tok::special_field(holder, "t", path, false);
        if (!s) throw FormatError(cat(path, ": field 'additional_special_tokens[", k, "]' must not be null"));
        add.push_back(*s);
      }
      c.additional = std::move(add);
    }
  }
  return std::make_shared<tok::SentencePieceTokenizer>(std::move(c));
}

bool save_sentencepiece(const Tokenizer& tokenizer, const std::string& dir) {
  const auto* sp = dynamic_cast<const tok::SentencePieceTokenizer*>(&tokenizer);
  if (!sp) return false;
  const SpmConfig& c = sp->config();
  fs::create_directories(dir);
  fs::path d(dir);
  std::string name = fs::path(c.model_path).filename().string();
  if (name != "sentencepiece.bpe.model" && name != "spiece.model")
    name = c.flavour == SpmFlavour::albert ? "spiece.model" : "sentencepiece.bpe.model";
  write_file_atomic((d / name).string(), c.model_bytes);

  auto token = [](const SpmSpecial& s) -> tok::ojson {
    if (!s.added_token) return s.content;
    return tok::ojson{{"content", s.content}, {"single_word", false}, {"lstrip", s.lstrip},
                      {"rstrip", s.rstrip},   {"normalized", true}};
  };
  tok::ojson map = tok::ojson::object();
  const std::pair<const char*, const SpmSpecial*> roles[] = {{"bos_token", &c.bos}, {"eos_token", &c.eos},
                                                             {"unk_token", &c.unk}, {"sep_token", &c.sep},
                                                             {"pad_token", &c.pad}, {"cls_token", &c.cls},
                                                             {"mask_token", &c.mask}};
  for (const auto& [key, s] : roles)
    if (!s->content.empty()) map[key] = token(*s);
  if (!c.additional.empty()) {
    tok::ojson add = tok::ojson::array();
    for (const auto& s : c.additional) add.push_back(token(s));
    map["additional_special_tokens"] = add;
  }
  tok::ojson cfg = tok::ojson::object();
  if (c.flavour == SpmFlavour::albert || c.lowercase || c.remove_space || !c.keep_accents) {
    cfg["do_lower_case"] = c.lowercase;
    cfg["remove_space"] = c.remove_space;
    cfg["keep_accents"] = c.keep_accents;
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    cfg[it.key()] = it.value();
    if (it.value().is_object()) cfg[it.key()]["__type"] = "AddedToken";
  }
  cfg["sp_model_kwargs"] = tok::ojson::object();
  cfg["model_max_length"] = c.model_max_length;
  cfg["tokenizer_class"] = tok::flavour_class(c.flavour);
  write_file_atomic((d / "tokenizer_config.json").string(), cfg.dump(2));
  write_file_atomic((d / "special_tokens_map.json").string(), map.dump(2));
  return true;
}

void register_sentencepiece_tokenizer(Registrar& r) {
  r.tokenizer<tok::SentencePieceTokenizer, SentencePieceOptions>(
      "sentencepiece",
      "SentencePiece (XLM-R, ALBERT, CamemBERT): transformers slow-tokenizer semantics, offsets into the input");
}

}  // namespace graft::core
