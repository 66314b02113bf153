// WordPiece tokenizer with HF tokenizers (Rust) semantics: BertNormalizer with alignment
// tracking, BertPreTokenizer, WordPiece greedy longest-match-first, added tokens, template
// post-processing, truncation/overflow windows and the WordPiece decoder.
#include "wordpiece.h"

#include "unicode.h"

#include <graft/core/files.h>
#include <graft/error.h>

#include <algorithm>
#include <cstring>

#include <utf8proc.h>

namespace graft::core {

TruncationError::TruncationError(std::string kind, const std::string& message)
    : DataError(message), kind_(std::move(kind)) {}
TruncationError::~TruncationError() = default;

}  // namespace graft::core

namespace graft::core::tok {

namespace {

inline bool is_cont_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool is_alphanumeric(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

char32_t first_char(std::string_view s) {
  char32_t c = 0;
  if (!s.empty()) decode_utf8(s.data(), s.size(), 0, c);
  return c;
}
char32_t last_char(std::string_view s) {
  size_t i = s.size();
  if (i == 0) return 0;
  --i;
  while (i > 0 && is_cont_byte(s[i])) --i;
  char32_t c = 0;
  decode_utf8(s.data(), s.size(), i, c);
  return c;
}

}  // namespace

void WordPieceConfig::set_bert_template(const std::string& cls, int64_t cls_id, const std::string& sep,
                                        int64_t sep_id) {
  has_post_processor = true;
  special_tokens = {TemplateSpecial{cls, {cls_id}, {cls}}, TemplateSpecial{sep, {sep_id}, {sep}}};
  auto sp = [](const std::string& id, int64_t type) { return TemplatePiece{false, 0, id, type}; };
  auto sq = [](int s, int64_t type) { return TemplatePiece{true, s, "", type}; };
  single = {sp(cls, 0), sq(0, 0), sp(sep, 0)};
  pair = {sp(cls, 0), sq(0, 0), sp(sep, 0), sq(1, 1), sp(sep, 1)};
}

WordPieceTokenizer::WordPieceTokenizer(WordPieceConfig config) : cfg_(std::move(config)) { init(); }

void WordPieceTokenizer::init() {
  const std::string& src = cfg_.source;
  if (cfg_.vocab.empty()) throw FormatError(cat(src, ": the WordPiece vocabulary is empty"));
  if (cfg_.max_input_chars_per_word < 1)
    throw FormatError(cat(src, ": max_input_chars_per_word must be >= 1, got ", cfg_.max_input_chars_per_word));
  int64_t max_id = -1;
  vocab_.reserve(cfg_.vocab.size() * 2);
  for (const auto& [tok, id] : cfg_.vocab) {
    if (id < 0) throw FormatError(cat(src, ": token '", tok, "' has a negative id ", id));
    vocab_.insert_or_assign(tok, id);
    max_id = std::max(max_id, id);
    max_token_bytes_ = std::max(max_token_bytes_, tok.size());
  }
  const std::string& prefix = cfg_.continuing_subword_prefix;
  for (const auto& [tok, id] : vocab_) {
    if (tok.size() >= prefix.size() && tok.compare(0, prefix.size(), prefix) == 0) {
      continuation_.insert_or_assign(tok.substr(prefix.size()), id);
      max_cont_bytes_ = std::max(max_cont_bytes_, tok.size() - prefix.size());
    }
  }
  auto unk = vocab_.find(cfg_.unk_token);
  if (unk == vocab_.end())
    throw FormatError(cat(src, ": the unknown token '", cfg_.unk_token, "' is not in the vocabulary"));
  unk_id_ = unk->second;

  // Added vocabulary: tokens without an id take the vocab's id, or a new one after it.
  int64_t next_id = max_id + 1;
  for (auto& t : cfg_.added_tokens) {
    if (t.content.empty()) throw FormatError(cat(src, ": an added token has empty content"));
    if (t.id < 0) {
      auto it = vocab_.find(t.content);
      t.id = it != vocab_.end() ? it->second : next_id++;
    }
    max_id = std::max(max_id, t.id);
    next_id = std::max(next_id, t.id + 1);
  }
  for (size_t i = 0; i < cfg_.added_tokens.size(); ++i) {
    added_by_content_.insert_or_assign(cfg_.added_tokens[i].content, cfg_.added_tokens[i].id);
    added_by_id_[cfg_.added_tokens[i].id] = i;
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  has_id_.assign(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [tok, id] : cfg_.vocab) {
    if (!has_id_[id]) {
      id_to_token_[id] = tok;
      has_id_[id] = 1;
    }
  }

  // Matchers for added tokens (longest first: leftmost-longest).
  auto build = [&](bool normalized, Matcher& m) {
    std::vector<std::pair<std::string, size_t>> pats;
    for (size_t i = 0; i < cfg_.added_tokens.size(); ++i) {
      const auto& t = cfg_.added_tokens[i];
      if (t.normalized != normalized) continue;
      std::string text = t.content;
      if (normalized) {
        std::vector<NChar> chars;
        normalize(t.content, 0, chars);
        text.clear();
        for (const auto& c : chars) append_utf8(text, c.c);
        if (text.empty()) continue;
      }
      pats.emplace_back(std::move(text), i);
    }
    std::stable_sort(pats.begin(), pats.end(),
                     [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
    for (auto& [text, i] : pats) {
      m.first_byte[static_cast<unsigned char>(text[0])] = true;
      m.texts.push_back(std::move(text));
      m.patterns.push_back(i);
    }
  };
  build(false, raw_matcher_);
  build(true, normalized_matcher_);

  // Post-processor: every special token of the templates must be defined.
  if (cfg_.has_post_processor) {
    for (const auto* tmpl : {&cfg_.single, &cfg_.pair}) {
      int64_t count = 0;
      for (const auto& p : *tmpl) {
        if (p.is_sequence) continue;
        auto it = std::find_if(cfg_.special_tokens.begin(), cfg_.special_tokens.end(),
                               [&](const TemplateSpecial& s) { return s.id == p.special; });
        if (it == cfg_.special_tokens.end())
          throw FormatError(cat(src, ": post_processor template uses special token '", p.special,
                                "' that is not defined in its special_tokens"));
        if (it->ids.size() != it->tokens.size())
          throw FormatError(cat(src, ": post_processor special token '", p.special, "' has ", it->ids.size(),
                                " ids but ", it->tokens.size(), " tokens"));
        count += static_cast<int64_t>(it->ids.size());
      }
      (tmpl == &cfg_.single ? added_single_ : added_pair_) = count;
    }
  }
  post_.enabled = cfg_.has_post_processor;
  post_.single = cfg_.single;
  post_.pair = cfg_.pair;
  post_.special_tokens = cfg_.special_tokens;
  auto role = [&](const std::string& t) { return t.empty() ? int64_t{-1} : token_to_id(t); };
  cls_id_ = role(cfg_.cls_token);
  sep_id_ = role(cfg_.sep_token);
  pad_id_ = role(cfg_.pad_token);
  mask_id_ = role(cfg_.mask_token);
}

bool WordPieceTokenizer::strip_accents() const { return cfg_.strip_accents.value_or(cfg_.lowercase); }

int64_t WordPieceTokenizer::vocab_size() const { return static_cast<int64_t>(id_to_token_.size()); }

int64_t WordPieceTokenizer::token_to_id(std::string_view token) const {
  if (auto it = added_by_content_.find(token); it != added_by_content_.end()) return it->second;
  if (auto it = vocab_.find(token); it != vocab_.end()) return it->second;
  return -1;
}

std::string WordPieceTokenizer::id_to_token(int64_t id) const {
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return cfg_.added_tokens[it->second].content;
  if (id >= 0 && id < static_cast<int64_t>(id_to_token_.size()) && has_id_[id]) return id_to_token_[id];
  return {};
}

int64_t WordPieceTokenizer::num_special_tokens(bool pair) const { return pair ? added_pair_ : added_single_; }

// AddedVocabulary::find_matches: leftmost-longest, then single_word / lstrip / rstrip.
void WordPieceTokenizer::find_matches(std::string_view s, const Matcher& m, std::vector<Match>& out) const {
  out.clear();
  if (m.empty()) return;
  size_t n = s.size(), start_offset = 0;
  size_t i = 0;
  while (i < n) {
    if (!m.first_byte[static_cast<unsigned char>(s[i])]) {
      ++i;
      continue;
    }
    size_t k = 0;
    for (; k < m.texts.size(); ++k) {
      const auto& t = m.texts[k];
      if (t.size() <= n - i && std::memcmp(s.data() + i, t.data(), t.size()) == 0) break;
    }
    if (k == m.texts.size()) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + m.texts[k].size();
    i = stop;
    const AddedToken& tok = cfg_.added_tokens[m.patterns[k]];
    if (tok.single_word) {
      bool start_space = start == 0 || !is_alphanumeric(last_char(s.substr(0, start)));
      bool stop_space = stop == n || !is_alphanumeric(first_char(s.substr(stop)));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      size_t ns = start;
      while (ns > 0) {
        size_t p = ns - 1;
        while (p > 0 && is_cont_byte(s[p])) --p;
        char32_t c = 0;
        decode_utf8(s.data(), n, p, c);
        if (!is_whitespace(c)) break;
        ns = p;
      }
      start = std::max(ns, start_offset);
    }
    if (tok.rstrip) {
      while (stop < n) {
        char32_t c = 0;
        size_t len = decode_utf8(s.data(), n, stop, c);
        if (len == 0 || !is_whitespace(c)) break;
        stop += len;
      }
      i = stop;
    }
    start = std::max(start, start_offset);
    out.push_back(Match{start, stop, static_cast<int64_t>(m.patterns[k])});
    start_offset = stop;
  }
}

// BertNormalizer, char by char (each step of the reference is char-local): clean_text,
// handle_chinese_chars, strip_accents (NFD + drop Mn), lowercase. Every output char keeps the
// byte range of the input char it came from (the reference's alignments).
void WordPieceTokenizer::normalize(std::string_view text, size_t base, std::vector<NChar>& out) const {
  const bool strip = strip_accents();
  const bool lower = cfg_.lowercase;
  const size_t n = text.size();
  const char* s = text.data();
  size_t i = 0;
  char32_t buf[32], low[4];
  auto emit = [&](char32_t c, uint32_t b, uint32_t e) {
    if (c < 0x80) {
      if (lower && c >= 'A' && c <= 'Z') c += 32;
      out.push_back(NChar{c, b, e});
      return;
    }
    int nd = 1;
    if (strip) {
      nd = nfd(c, buf, 32);
    } else {
      buf[0] = c;
    }
    for (int k = 0; k < nd; ++k) {
      char32_t d = buf[k];
      if (strip && is_mark_nonspacing(d)) continue;
      if (lower) {
        int nl = to_lower(d, low);
        for (int j = 0; j < nl; ++j) out.push_back(NChar{low[j], b, e});
      } else {
        out.push_back(NChar{d, b, e});
      }
    }
  };
  while (i < n) {
    char32_t c;
    size_t len;
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      c = b0;
      len = 1;
    } else {
      len = decode_utf8(s, n, i, c);
      if (len == 0) throw DataError(cat("text is not valid UTF-8 at byte ", base + i));
    }
    auto b = static_cast<uint32_t>(base + i), e = static_cast<uint32_t>(base + i + len);
    i += len;
    if (!cfg_.has_normalizer) {
      out.push_back(NChar{c, b, e});
      continue;
    }
    if (cfg_.clean_text) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_whitespace(c)) c = ' ';
    }
    if (cfg_.handle_chinese_chars && c >= 0x3400 && is_chinese_char(c)) {
      out.push_back(NChar{' ', b, e});
      emit(c, b, e);
      out.push_back(NChar{' ', b, e});
      continue;
    }
    emit(c, b, e);
  }
}

// WordPiece::tokenize on the normalized chars [b, e) of one word.
void WordPieceTokenizer::wordpiece(const std::vector<NChar>& chars, size_t b, size_t e, int64_t type_id, int64_t word,
                                   Enc& out) const {
  const size_t nchars = e - b;
  if (static_cast<int64_t>(nchars) > cfg_.max_input_chars_per_word) {
    out.push(unk_id_, cfg_.unk_token, chars[b].start, chars[e - 1].end, word, type_id);
    return;
  }
  // The word in UTF-8, with the char index at each char's first byte.
  char wbuf[512];
  uint32_t cidx[513];
  std::string big;
  std::vector<uint32_t> big_idx;
  size_t wlen = 0;
  for (size_t k = b; k < e; ++k) wlen += utf8_len(chars[k].c);
  char* w = wbuf;
  uint32_t* ci = cidx;
  if (wlen >= sizeof wbuf) {
    big.resize(wlen);
    big_idx.resize(wlen + 1);
    w = big.data();
    ci = big_idx.data();
  }
  {
    size_t p = 0;
    for (size_t k = b; k < e; ++k) {
      char32_t c = chars[k].c;
      ci[p] = static_cast<uint32_t>(k - b);
      if (c < 0x80) {
        w[p++] = static_cast<char>(c);
      } else if (c < 0x800) {
        w[p++] = static_cast<char>(0xC0 | (c >> 6));
        w[p++] = static_cast<char>(0x80 | (c & 0x3F));
      } else if (c < 0x10000) {
        w[p++] = static_cast<char>(0xE0 | (c >> 12));
        w[p++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        w[p++] = static_cast<char>(0x80 | (c & 0x3F));
      } else {
        w[p++] = static_cast<char>(0xF0 | (c >> 18));
        w[p++] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        w[p++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        w[p++] = static_cast<char>(0x80 | (c & 0x3F));
      }
    }
    ci[p] = static_cast<uint32_t>(nchars);
  }
  const size_t first = out.size();
  size_t start = 0;
  while (start < wlen) {
    size_t limit = start == 0 ? max_token_bytes_ : max_cont_bytes_;
    size_t end = std::min(wlen, start + limit);
    while (end > start && end < wlen && is_cont_byte(w[end])) --end;
    int64_t id = -1;
    const TokenMap& map = start == 0 ? vocab_ : continuation_;
    while (end > start) {
      auto it = map.find(std::string_view(w + start, end - start));
      if (it != map.end()) {
        id = it->second;
        break;
      }
      --end;
      while (end > start && is_cont_byte(w[end])) --end;
    }
    if (id < 0) {
      // No piece matches: the whole word is one [UNK].
      out.ids.resize(first);
      out.type_ids.resize(first);
      out.words.resize(first);
      out.seq.resize(first);
      out.tokens.resize(first);
      out.offsets.resize(first);
      out.special.resize(first);
      out.push(unk_id_, cfg_.unk_token, chars[b].start, chars[e - 1].end, word, type_id);
      return;
    }
    std::string token;
    if (start == 0) {
      token.assign(w, end);
    } else {
      token.reserve(cfg_.continuing_subword_prefix.size() + end - start);
      token.append(cfg_.continuing_subword_prefix).append(w + start, end - start);
    }
    size_t cb = ci[start], ce = ci[end];
    out.push(id, std::move(token), chars[b + cb].start, chars[b + ce - 1].end, word, type_id);
    start = end;
  }
}

// BertPreTokenizer on normalized chars [b, e): split on whitespace (removed) and on every
// punctuation char (isolated); then WordPiece on each word.
void WordPieceTokenizer::encode_normalized(const std::vector<NChar>& chars, size_t b, size_t e, int64_t type_id,
                                           int64_t fixed_word, int64_t& word, Enc& out) const {
  auto flush = [&](size_t wb, size_t we) {
    if (wb >= we) return;
    int64_t w = fixed_word >= 0 ? fixed_word : word++;
    wordpiece(chars, wb, we, type_id, w, out);
  };
  if (!cfg_.bert_pre_tokenizer) {
    flush(b, e);
    return;
  }
  size_t wb = b;
  for (size_t i = b; i < e; ++i) {
    char32_t c = chars[i].c;
    if (c == ' ' || (c > 0x7F && is_whitespace(c)) || (c < 0x20 && is_whitespace(c))) {
      flush(wb, i);
      wb = i + 1;
    } else if (is_punctuation(c)) {
      flush(wb, i);
      flush(i, i + 1);
      wb = i + 1;
    }
  }
  flush(wb, e);
}

// One input string: added tokens split out of the raw text, the rest normalized, matched
// against normalized added tokens, pre-tokenized and WordPiece'd. Offsets are byte ranges
// into `text`; words are numbered from 0 unless `fixed_word` >= 0 (pre-split input).
void WordPieceTokenizer::encode_text(std::string_view text, int64_t type_id, int64_t fixed_word, Enc& out) const {
  std::vector<Match> matches, nmatches;
  std::vector<NChar> chars;
  std::string ntext;
  std::vector<uint32_t> nbyte_char;
  int64_t word = 0;
  auto added = [&](const Match& m, std::string value, int64_t b, int64_t e) {
    const AddedToken& t = cfg_.added_tokens[m.added];
    out.push(t.id, std::move(value), b, e, fixed_word >= 0 ? fixed_word : word++, type_id);
  };
  auto segment = [&](size_t sb, size_t se) {
    chars.clear();
    normalize(text.substr(sb, se - sb), sb, chars);
    if (chars.empty()) return;
    if (normalized_matcher_.empty()) {
      encode_normalized(chars, 0, chars.size(), type_id, fixed_word, word, out);
      return;
    }
    ntext.clear();
    nbyte_char.clear();
    for (size_t k = 0; k < chars.size(); ++k) {
      append_utf8(ntext, chars[k].c);
      nbyte_char.resize(ntext.size(), static_cast<uint32_t>(k));
    }
    nbyte_char.push_back(static_cast<uint32_t>(chars.size()));
    find_matches(ntext, normalized_matcher_, nmatches);
    size_t pos = 0;
    for (const auto& m : nmatches) {
      size_t cb = nbyte_char[m.begin], ce = nbyte_char[m.end];
      if (pos < cb) encode_normalized(chars, pos, cb, type_id, fixed_word, word, out);
      if (ce > cb) added(m, ntext.substr(m.begin, m.end - m.begin), chars[cb].start, chars[ce - 1].end);
      pos = ce;
    }
    if (pos < chars.size()) encode_normalized(chars, pos, chars.size(), type_id, fixed_word, word, out);
  };
  chars.reserve(text.size() + 8);
  find_matches(text, raw_matcher_, matches);
  size_t pos = 0;
  for (const auto& m : matches) {
    if (pos < m.begin) segment(pos, m.begin);
    added(m, std::string(text.substr(m.begin, m.end - m.begin)), static_cast<int64_t>(m.begin),
          static_cast<int64_t>(m.end));
    pos = m.end;
  }
  if (pos < text.size()) segment(pos, text.size());
}

Enc WordPieceTokenizer::encode_sequence(const TextInput& input, bool pair) const {
  Enc out;
  const int64_t type_id = pair ? 1 : 0;
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

std::vector<Encoding> WordPieceTokenizer::encode(const TextInput& input, const EncodeOptions& options) const {
  bool has_pair = input.words.empty() ? input.pair.has_value() : !input.pair_words.empty();
  Enc a = encode_sequence(input, false);
  std::optional<Enc> b;
  if (has_pair) b = encode_sequence(input, true);
  return finish(apply_template(std::move(a), std::move(b), options, post_), options.return_overflowing);
}

std::vector<std::string> WordPieceTokenizer::decode_tokens(const std::vector<int64_t>& ids,
                                                           bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    std::string tok;
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      tok = cfg_.added_tokens[it->second].content;
    } else if (id >= 0 && id < static_cast<int64_t>(id_to_token_.size()) && has_id_[id]) {
      tok = id_to_token_[id];
    } else {
      continue;  // unknown ids are skipped, as in the reference
    }
    if (skip_special_tokens) {
      auto it = added_by_content_.find(tok);
      if (it != added_by_content_.end() && cfg_.added_tokens[added_by_id_.at(it->second)].special) continue;
    }
    tokens.push_back(std::move(tok));
  }
  return tokens;
}

namespace {
std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (s.find(from) == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos).append(to);
    pos = hit + from.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// tokenizers' decoders::wordpiece::cleanup (per token).
std::string wordpiece_cleanup(std::string s) {
  s = replace_all(std::move(s), " .", ".");
  s = replace_all(std::move(s), " ?", "?");
  s = replace_all(std::move(s), " !", "!");
  s = replace_all(std::move(s), " ,", ",");
  s = replace_all(std::move(s), " ' ", "'");
  s = replace_all(std::move(s), " n't", "n't");
  s = replace_all(std::move(s), " 'm", "'m");
  s = replace_all(std::move(s), " do not", " don't");
  s = replace_all(std::move(s), " 's", "'s");
  s = replace_all(std::move(s), " 've", "'ve");
  s = replace_all(std::move(s), " 're", "'re");
  return s;
}
}  // namespace

std::string WordPieceTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens = decode_tokens(ids, skip_special_tokens);
  std::string out;
  if (!cfg_.has_decoder) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  const std::string& prefix = cfg_.decoder_prefix;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string t = std::move(tokens[i]);
    if (i != 0) {
      if (!prefix.empty() && t.compare(0, prefix.size(), prefix) == 0)
        t.erase(0, prefix.size());
      else if (prefix.empty())
        ;  // replacen("", "", 1) is the identity; every token starts with ""
      else
        t.insert(t.begin(), ' ');
    }
    if (cfg_.decoder_cleanup) t = wordpiece_cleanup(std::move(t));
    out += t;
  }
  return out;
}

}  // namespace graft::core::tok

namespace graft::core {

std::string clean_up_tokenization(std::string_view text) {
  std::string s(text);
  s = tok::replace_all(std::move(s), " .", ".");
  s = tok::replace_all(std::move(s), " ?", "?");
  s = tok::replace_all(std::move(s), " !", "!");
  s = tok::replace_all(std::move(s), " ,", ",");
  s = tok::replace_all(std::move(s), " ' ", "'");
  s = tok::replace_all(std::move(s), " n't", "n't");
  s = tok::replace_all(std::move(s), " 'm", "'m");
  s = tok::replace_all(std::move(s), " 's", "'s");
  s = tok::replace_all(std::move(s), " 've", "'ve");
  s = tok::replace_all(std::move(s), " 're", "'re");
  return s;
}

}  // namespace graft::core
