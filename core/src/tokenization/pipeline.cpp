// PipelineTokenizer: a tokenizer.json document run as HF tokenizers 0.22 does: added tokens split
// out of the raw text, normalizer, normalized added tokens, pre-tokenizer, model, then
// truncation, offset trimming and the post-processor template; the decoder chain for decode.
#include "pipeline.h"

#include "json_util.h"
#include "unicode.h"

#include <graft/core/files.h>
#include <graft/error.h>

#include <algorithm>
#include <cstring>

#include <utf8proc.h>

namespace graft::core::tok {

using json = nlohmann::json;

namespace {

bool is_alnum(char32_t c);

char32_t first_char(std::string_view s) {
  char32_t c = 0;
  if (!s.empty()) decode_utf8(s.data(), s.size(), 0, c);
  return c;
}
char32_t last_char(std::string_view s) {
  size_t i = s.size();
  if (i == 0) return 0;
  --i;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  char32_t c = 0;
  decode_utf8(s.data(), s.size(), i, c);
  return c;
}

// ByteLevel's process_offsets: trims the offsets of tokens that start/end with spaces.
void process_offsets(Enc& e, bool add_prefix_space) {
  static const char32_t kSpaceChar = 0x120;  // 'Ġ', the byte-level char of ' '
  for (size_t i = 0; i < e.size(); ++i) {
    const std::string& t = e.tokens[i];
    size_t lead = 0, trail = 0;
    {
      size_t k = 0;
      while (k < t.size()) {
        char32_t c = 0;
        size_t len = decode_utf8(t.data(), t.size(), k, c);
        if (len == 0 || !(c == kSpaceChar || is_whitespace(c))) break;
        ++lead;
        k += len;
      }
      size_t end = t.size();
      while (end > 0) {
        size_t p = end - 1;
        while (p > 0 && (static_cast<unsigned char>(t[p]) & 0xC0) == 0x80) --p;
        char32_t c = 0;
        size_t len = decode_utf8(t.data(), t.size(), p, c);
        if (len == 0 || !(c == kSpaceChar || is_whitespace(c))) break;
        ++trail;
        end = p;
      }
    }
    if (lead == 0 && trail == 0) continue;
    auto& off = e.offsets[i];
    if (lead > 0) {
      bool is_first = i == 0 || off.first == 0;
      if (is_first && add_prefix_space && lead == 1) lead = 0;
      off.first = std::min<int64_t>(off.first + static_cast<int64_t>(lead), off.second);
    }
    if (trail > 0 && off.second >= static_cast<int64_t>(trail))
      off.second = std::max<int64_t>(off.second - static_cast<int64_t>(trail), off.first);
  }
}

void zero_types(Enc& e) {
  std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
  for (auto& o : e.overflowing) zero_types(o);
}

}  // namespace

namespace {
bool is_alnum(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  // Rust char::is_alphanumeric: letters (L*) and numbers (N*).
  auto k = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) || (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}
}  // namespace

PipelineTokenizer::PipelineTokenizer(json doc, std::string source) : doc_(std::move(doc)), source_(std::move(source)) {
  const std::string& path = source_;
  if (!doc_.is_object()) throw FormatError(cat(path, ": expected a JSON object, got ", doc_.type_name()));
  if (const json* n = jmember(doc_, "normalizer"); n && !n->is_null()) normalizer_ = make_normalizer(*n, path, "normalizer");
  if (const json* p = jmember(doc_, "pre_tokenizer"); p && !p->is_null()) pre_ = make_pre_tokenizer(*p, path, "pre_tokenizer");
  const json* m = jmember(doc_, "model");
  if (!m || !m->is_object()) throw FormatError(cat(path, ": missing object field 'model'"));
  model_ = make_model(*m, path);
  const json* pp = jmember(doc_, "post_processor");
  post_ = make_post(pp ? *pp : json(nullptr), path, "post_processor");
  if (const json* d = jmember(doc_, "decoder"); d && !d->is_null()) decoder_ = make_decoder(*d, path, "decoder");
  byte_level_ = pre_ && pre_->has_byte_level();

  if (const json* added = jmember(doc_, "added_tokens"); added && !added->is_null()) {
    if (!added->is_array()) throw FormatError(cat(path, ": field 'added_tokens' must be an array"));
    size_t k = 0;
    for (const auto& a : *added) {
      std::string where = cat("added_tokens[", k++, "].");
      if (!a.is_object()) throw FormatError(cat(path, ": field '", where, "' must be an object"));
      AddedToken t;
      t.content = jstr(a, "content", "", path, where);
      if (t.content.empty()) throw FormatError(cat(path, ": field '", where, "content' is missing or empty"));
      t.id = jint(a, "id", -1, path, where);
      t.special = jbool(a, "special", false, path, where);
      t.single_word = jbool(a, "single_word", false, path, where);
      t.lstrip = jbool(a, "lstrip", false, path, where);
      t.rstrip = jbool(a, "rstrip", false, path, where);
      t.normalized = jbool(a, "normalized", !t.special, path, where);
      added_.push_back(std::move(t));
    }
  }
  build_added();
  set_roles("", "", "", "", "");
}

void PipelineTokenizer::build_added() {
  int64_t next_id = model_->size();
  for (const auto& t : added_) next_id = std::max(next_id, t.id + 1);
  for (auto& t : added_) {
    if (t.id < 0) {
      int64_t id = model_->token_to_id(t.content);
      t.id = id >= 0 ? id : next_id++;
    }
  }
  added_by_content_.clear();
  added_by_id_.clear();
  for (size_t i = 0; i < added_.size(); ++i) {
    added_by_content_.insert_or_assign(added_[i].content, added_[i].id);
    added_by_id_[added_[i].id] = i;
  }
  auto build = [&](bool normalized, Matcher& m) {
    m = Matcher{};
    std::vector<std::pair<std::string, size_t>> pats;
    for (size_t i = 0; i < added_.size(); ++i) {
      const auto& t = added_[i];
      if (t.normalized != normalized) continue;
      std::string text = t.content;
      if (normalized && normalizer_) {
        NStr n = NStr::from(text);
        normalizer_->normalize(n);
        text = n.s;
      }
      if (text.empty()) continue;
      pats.emplace_back(std::move(text), i);
    }
    std::stable_sort(pats.begin(), pats.end(), [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
    for (auto& [text, i] : pats) {
      m.first_byte[static_cast<unsigned char>(text[0])] = true;
      m.texts.push_back(std::move(text));
      m.patterns.push_back(i);
    }
  };
  build(false, raw_matcher_);
  build(true, normalized_matcher_);
}

void PipelineTokenizer::set_roles(const std::string& unk, const std::string& cls, const std::string& sep,
                                  const std::string& pad, const std::string& mask) {
  auto pick = [&](const std::string& given, std::initializer_list<const char*> dflts) -> std::string {
    if (!given.empty()) return given;
    for (const char* d : dflts)
      if (token_to_id(d) >= 0) return d;
    return "";
  };
  unk_ = pick(unk, {"<unk>", "[UNK]"});
  cls_ = pick(cls, {"<s>", "[CLS]"});
  sep_ = pick(sep, {"</s>", "[SEP]"});
  pad_ = pick(pad, {"<pad>", "[PAD]"});
  mask_ = pick(mask, {"<mask>", "[MASK]"});
  auto id = [&](const std::string& t) { return t.empty() ? int64_t{-1} : token_to_id(t); };
  unk_id_ = id(unk_);
  cls_id_ = id(cls_);
  sep_id_ = id(sep_);
  pad_id_ = id(pad_);
  mask_id_ = id(mask_);
}

const std::string& PipelineTokenizer::role(const char* name) const {
  static const std::string none;
  std::string_view n(name);
  if (n == "unk") return unk_;
  if (n == "cls") return cls_;
  if (n == "sep") return sep_;
  if (n == "pad") return pad_;
  if (n == "mask") return mask_;
  return none;
}

size_t PipelineTokenizer::add_tokens(std::vector<AddedToken> tokens) {
  size_t added = 0;
  for (auto& t : tokens) {
    if (t.content.empty()) throw ConfigError("an added token must not be empty");
    if (added_by_content_.count(t.content)) continue;
    if (t.id < 0) {
      int64_t id = model_->token_to_id(t.content);
      t.id = id >= 0 ? id : vocab_size();
    }
    json a = {{"id", t.id},          {"content", t.content},       {"single_word", t.single_word}, {"lstrip", t.lstrip},
              {"rstrip", t.rstrip}, {"normalized", t.normalized}, {"special", t.special}};
    if (!doc_.contains("added_tokens") || !doc_["added_tokens"].is_array()) doc_["added_tokens"] = json::array();
    doc_["added_tokens"].push_back(std::move(a));
    added_.push_back(std::move(t));
    added_by_content_.insert_or_assign(added_.back().content, added_.back().id);
    added_by_id_[added_.back().id] = added_.size() - 1;
    ++added;
  }
  if (added) build_added();
  return added;
}

std::string PipelineTokenizer::kind() const {
  std::string t = model_->type();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

int64_t PipelineTokenizer::vocab_size() const {
  int64_t n = model_->size();
  for (const auto& t : added_) n = std::max(n, t.id + 1);
  return n;
}

int64_t PipelineTokenizer::token_to_id(std::string_view token) const {
  if (auto it = added_by_content_.find(token); it != added_by_content_.end()) return it->second;
  return model_->token_to_id(token);
}

std::string PipelineTokenizer::id_to_token(int64_t id) const {
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
  const std::string* t = model_->id_to_token(id);
  return t ? *t : std::string();
}

// AddedVocabulary::find_matches: leftmost-longest, then single_word / lstrip / rstrip; the
// result covers `s` (gaps with index -1).
void PipelineTokenizer::find_matches(std::string_view s, const Matcher& m,
                                     std::vector<std::pair<int64_t, PMatch>>& out) const {
  out.clear();
  const size_t n = s.size();
  size_t start_offset = 0, i = 0;
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
    const AddedToken& tok = added_[m.patterns[k]];
    if (tok.single_word) {
      bool start_space = start == 0 || !is_alnum(last_char(s.substr(0, start)));
      bool stop_space = stop == n || !is_alnum(first_char(s.substr(stop)));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      size_t ns = start;
      while (ns > 0) {
        size_t p = ns - 1;
        while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
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
    if (start_offset < start) out.push_back({-1, PMatch{start_offset, start, false}});
    out.push_back({static_cast<int64_t>(m.patterns[k]), PMatch{start, stop, true}});
    start_offset = stop;
  }
  if (start_offset != n) out.push_back({-1, PMatch{start_offset, n, false}});
}

void PipelineTokenizer::split_added(std::vector<Split>& splits, const Matcher& m) const {
  std::vector<Split> out;
  out.reserve(splits.size() + 4);
  std::vector<std::pair<int64_t, PMatch>> ms;
  for (auto& sp : splits) {
    if (sp.has_tokens) {
      out.push_back(std::move(sp));
      continue;
    }
    if (sp.n.empty()) continue;
    if (m.empty()) {
      out.push_back(std::move(sp));
      continue;
    }
    find_matches(sp.n.s, m, ms);
    for (const auto& [idx, pm] : ms) {
      if (pm.e <= pm.b) continue;
      Split piece{sp.n.slice(pm.b, pm.e), false, {}};
      if (idx >= 0) {
        piece.has_tokens = true;
        piece.tokens.push_back(PToken{added_[idx].id, piece.n.s, 0, static_cast<uint32_t>(piece.n.s.size())});
      }
      out.push_back(std::move(piece));
    }
  }
  splits = std::move(out);
}

Enc PipelineTokenizer::encode_text(std::string_view text, int64_t type_id, int64_t fixed_word, bool pre_split) const {
  Enc out;
  if (text.empty()) return out;
  std::vector<Split> splits;
  splits.push_back(Split{NStr::from(text), false, {}});
  split_added(splits, raw_matcher_);
  if (normalizer_)
    for (auto& sp : splits)
      if (!sp.has_tokens) normalizer_->normalize(sp.n);
  split_added(splits, normalized_matcher_);
  if (pre_) pre_->pre_tokenize(splits, pre_split);
  thread_local std::vector<PToken> toks;
  out.reserve(text.size() / 3 + 4);
  for (size_t w = 0; w < splits.size(); ++w) {
    Split& sp = splits[w];
    const std::vector<PToken>* list = &sp.tokens;
    if (!sp.has_tokens) {
      toks.clear();
      model_->tokenize(sp.n.s, toks);
      list = &toks;
    }
    int64_t word = fixed_word >= 0 ? fixed_word : static_cast<int64_t>(w);
    for (const auto& t : *list) {
      auto [b, e] = sp.n.original(t.b, t.e);
      out.push(t.id, t.value, b, e, word, type_id);
    }
  }
  return out;
}

Enc PipelineTokenizer::encode_sequence(const TextInput& input, bool pair) const {
  const int64_t type_id = pair ? 1 : 0;
  if (!input.words.empty()) {
    Enc out;
    const auto& words = pair ? input.pair_words : input.words;
    for (size_t i = 0; i < words.size(); ++i) {
      check_utf8(words[i], pair ? "a pair word" : "a word");
      Enc w = encode_text(words[i], type_id, static_cast<int64_t>(i), true);
      merge_with(out, w);
    }
    return out;
  }
  const std::string& text = pair ? *input.pair : input.text;
  check_utf8(text, pair ? "the pair text" : "the text");
  return encode_text(text, type_id, -1, false);
}

std::vector<Encoding> PipelineTokenizer::encode(const TextInput& input, const EncodeOptions& o) const {
  const bool pre_split = !input.words.empty();
  const bool has_pair = pre_split ? !input.pair_words.empty() : input.pair.has_value();
  Enc a = encode_sequence(input, false);
  std::optional<Enc> b;
  if (has_pair) b = encode_sequence(input, true);
  if (o.truncation != Truncation::none && o.max_length > 0) {
    if (o.stride < 0) throw ConfigError(cat("truncation stride must be >= 0, got ", o.stride));
    int64_t n_added = o.add_special_tokens && post_.tmpl.enabled ? post_.tmpl.num_added(has_pair) : 0;
    if (o.max_length < n_added)
      throw TruncationError("SequenceTooShort", cat("truncation refused: max_length ", o.max_length,
                                                    " is smaller than the ", n_added, " special tokens"));
    truncate_encodings(a, b ? &*b : nullptr, static_cast<size_t>(o.max_length - n_added), o.truncation,
                       static_cast<size_t>(o.stride), o.direction);
  }
  for (const auto& trim : post_.trims) {
    bool aps = trim.add_prefix_space || (pre_split && byte_level_);
    for (Enc* e : {&a, b ? &*b : nullptr}) {
      if (!e) continue;
      process_offsets(*e, aps);
      for (auto& ov : e->overflowing) process_offsets(ov, aps);
    }
  }
  if (post_.zero_type_ids) {
    zero_types(a);
    if (b) zero_types(*b);
  }
  EncodeOptions plain = o;
  plain.truncation = Truncation::none;
  plain.max_length = 0;
  return finish(apply_template(std::move(a), std::move(b), plain, post_.tmpl), o.return_overflowing);
}

std::string PipelineTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      const AddedToken& t = added_[it->second];
      if (skip_special_tokens && t.special) continue;
      tokens.push_back(t.content);
      continue;
    }
    const std::string* t = model_->id_to_token(id);
    if (!t) continue;  // unknown ids are skipped, as in the reference
    if (skip_special_tokens) {
      auto it = added_by_content_.find(*t);
      if (it != added_by_content_.end() && added_[added_by_id_.at(it->second)].special) continue;
    }
    tokens.push_back(*t);
  }
  std::string out;
  if (!decoder_) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  decoder_->decode_chain(tokens);
  for (const auto& t : tokens) out += t;
  return out;
}

std::shared_ptr<PipelineTokenizer> read_pipeline_json(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(cat(path, ": invalid JSON: ", e.what()));
  }
  return std::make_shared<PipelineTokenizer>(std::move(j), path);
}

}  // namespace graft::core::tok
