// tokenizer.json components (HF tokenizers 0.22 semantics): normalizers, pre-tokenizers,
// decoders and post-processors, each built from its JSON object.
#include "json_util.h"
#include "pipeline.h"
#include "unicode.h"

#include <graft/error.h>

#include <algorithm>
#include <cstring>

#include <utf8proc.h>

namespace graft::core::tok {

using json = nlohmann::json;

namespace {

std::vector<char32_t> chars_of(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
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

// NormalizedString::filter.
template <class Keep>
void filter(NStr& n, Keep keep) {
  auto cs = chars_of(n.s);
  std::vector<std::pair<char32_t, int>> rev;
  rev.reserve(cs.size());
  int removed = 0;
  bool any = false;
  for (size_t k = cs.size(); k-- > 0;) {
    if (keep(cs[k])) {
      rev.emplace_back(cs[k], removed > 0 ? -removed : 0);
      removed = 0;
    } else {
      ++removed;
      any = true;
    }
  }
  if (!any) return;
  std::reverse(rev.begin(), rev.end());
  n.transform(rev, static_cast<size_t>(removed));
}

// NormalizedString::map (1:1 chars; alignments unchanged, only the text changes).
template <class F>
void map_chars(NStr& n, F f) {
  auto cs = chars_of(n.s);
  std::vector<std::pair<char32_t, int>> d;
  d.reserve(cs.size());
  bool changed = false;
  for (char32_t c : cs) {
    char32_t m = f(c);
    changed = changed || m != c;
    d.emplace_back(m, 0);
  }
  if (changed) n.transform(d, 0);
}

void lowercase(NStr& n) {
  bool ascii_lower = true;
  for (char c : n.s)
    if ((c >= 'A' && c <= 'Z') || (static_cast<unsigned char>(c) & 0x80)) ascii_lower = false;
  if (ascii_lower) return;
  auto cs = chars_of(n.s);
  std::vector<std::pair<char32_t, int>> d;
  d.reserve(cs.size() + 4);
  char32_t low[4];
  for (char32_t c : cs) {
    int k = to_lower(c, low);
    for (int j = 0; j < k; ++j) d.emplace_back(low[j], j > 0 ? 1 : 0);
  }
  n.transform(d, 0);
}

bool is_numeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

// Unicode normalization forms with the change marks of unicode-normalization-alignments:
// segment by segment (a starter and its following non-starters), 1:1 where the counts agree,
// extra chars marked as insertions, fewer chars as a removal on the last one.
void unicode_normalize(NStr& n, bool compat, bool compose) {
  bool ascii = true;
  for (char c : n.s)
    if (static_cast<unsigned char>(c) & 0x80) ascii = false;
  if (ascii) return;
  auto cs = chars_of(n.s);
  int opts = UTF8PROC_STABLE | (compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) | (compat ? UTF8PROC_COMPAT : 0);
  std::vector<std::pair<char32_t, int>> d;
  d.reserve(cs.size() + 8);
  bool changed = false;
  size_t i = 0;
  std::string seg;
  while (i < cs.size()) {
    size_t j = i + 1;
    auto starter = [](char32_t c) {
      if (c >= 0x1161 && c <= 0x11C2) return false;  // Hangul V/T jamo compose with what precedes
      return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class == 0;
    };
    while (j < cs.size() && !starter(cs[j])) ++j;
    seg.clear();
    for (size_t k = i; k < j; ++k) append_utf8(seg, cs[k]);
    utf8proc_uint8_t* out = nullptr;
    auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(seg.data()), static_cast<utf8proc_ssize_t>(seg.size()),
                            &out, static_cast<utf8proc_option_t>(opts));
    std::vector<char32_t> oc;
    if (len >= 0 && out) {
      oc = chars_of(std::string_view(reinterpret_cast<char*>(out), static_cast<size_t>(len)));
    } else {
      oc.assign(cs.begin() + i, cs.begin() + j);
    }
    std::free(out);
    size_t in_n = j - i, out_n = oc.size();
    if (out_n != in_n || !std::equal(oc.begin(), oc.end(), cs.begin() + i)) changed = true;
    for (size_t k = 0; k < out_n; ++k) {
      int change = 0;
      if (k >= in_n) change = 1;
      if (out_n < in_n && k + 1 == out_n) change = -static_cast<int>(in_n - out_n);
      d.emplace_back(oc[k], change);
    }
    i = j;
  }
  if (changed) n.transform(d, 0);
}

// ---------------------------------------------------------------------------------------------
struct SequenceNorm final : Normalizer {
  std::vector<std::unique_ptr<Normalizer>> items;
  void normalize(NStr& n) const override {
    for (const auto& x : items) x->normalize(n);
  }
};

struct BertNorm final : Normalizer {
  bool clean_text = true, chinese = true, lower = true;
  std::optional<bool> strip;
  void normalize(NStr& n) const override {
    if (clean_text) {
      filter(n, [](char32_t c) { return !(c == 0 || c == 0xFFFD || is_control(c)); });
      map_chars(n, [](char32_t c) { return is_whitespace(c) ? U' ' : c; });
    }
    if (chinese) {
      auto cs = chars_of(n.s);
      bool any = false;
      for (char32_t c : cs) any = any || is_chinese_char(c);
      if (any) {
        std::vector<std::pair<char32_t, int>> d;
        for (char32_t c : cs) {
          if (is_chinese_char(c)) {
            d.emplace_back(U' ', 0);
            d.emplace_back(c, 1);
            d.emplace_back(U' ', 1);
          } else {
            d.emplace_back(c, 0);
          }
        }
        n.transform(d, 0);
      }
    }
    if (strip.value_or(lower)) {
      unicode_normalize(n, false, false);
      filter(n, [](char32_t c) { return !is_mark_nonspacing(c); });
    }
    if (lower) lowercase(n);
  }
};

struct LowercaseNorm final : Normalizer {
  void normalize(NStr& n) const override { lowercase(n); }
};
struct UnicodeNorm final : Normalizer {
  bool compat, compose;
  UnicodeNorm(bool k, bool c) : compat(k), compose(c) {}
  void normalize(NStr& n) const override { unicode_normalize(n, compat, compose); }
};
struct StripAccentsNorm final : Normalizer {
  void normalize(NStr& n) const override {
    filter(n, [](char32_t c) { return !is_mark_nonspacing(c); });
  }
};
struct StripNorm final : Normalizer {
  bool left = true, right = true;
  void normalize(NStr& n) const override {
    auto cs = chars_of(n.s);
    size_t lead = 0, trail = 0;
    if (left)
      while (lead < cs.size() && is_whitespace(cs[lead])) ++lead;
    if (right)
      while (trail < cs.size() && is_whitespace(cs[cs.size() - 1 - trail])) ++trail;
    if (lead == 0 && trail == 0) return;
    std::vector<std::pair<char32_t, int>> d;
    const size_t count = cs.size();
    for (size_t i = 0; i < count; ++i) {
      if (i < lead || i + trail >= count) continue;
      // HF compares the char index with the byte length here; kept for identical alignments.
      if (n.s.size() >= trail + 1 && i == n.s.size() - trail - 1)
        d.emplace_back(cs[i], -static_cast<int>(trail));
      else
        d.emplace_back(cs[i], 0);
    }
    n.transform(d, lead);
  }
};
struct ReplaceNorm final : Normalizer {
  Pattern pattern;
  std::string content;
  void normalize(NStr& n) const override {
    thread_local std::vector<PMatch> ms;
    pattern.find(n.s, ms);
    bool any = false;
    for (const auto& m : ms) any = any || (m.match && m.e > m.b);
    if (!any) return;
    std::string ns;
    std::vector<Align> nal;
    for (const auto& m : ms) {
      if (!m.match || m.e <= m.b) {
        ns.append(n.s, m.b, m.e - m.b);
        nal.insert(nal.end(), n.al.begin() + m.b, n.al.begin() + m.e);
      } else {
        Align a = n.al[m.e - 1];
        ns.append(content);
        nal.insert(nal.end(), content.size(), a);
      }
    }
    n.s = std::move(ns);
    n.al = std::move(nal);
  }
};
struct PrependNorm final : Normalizer {
  std::string prepend;
  void normalize(NStr& n) const override { n.prepend(prepend); }
};

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers.

template <class F>
void split_each(std::vector<Split>& splits, F f) {
  std::vector<Split> out;
  out.reserve(splits.size() * 2);
  std::vector<NStr> pieces;
  for (auto& sp : splits) {
    if (sp.has_tokens) {
      out.push_back(std::move(sp));
      continue;
    }
    pieces.clear();
    f(sp.n, pieces);
    for (auto& p : pieces)
      if (!p.empty()) out.push_back(Split{std::move(p), false, {}});
  }
  splits = std::move(out);
}

// HF's char pattern: every matching char is its own match.
template <class Pred>
void char_matches(std::string_view s, Pred pred, std::vector<PMatch>& out) {
  out.clear();
  if (s.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t last = 0, i = 0;
  while (i < s.size()) {
    char32_t c = 0;
    size_t len = decode_utf8(s.data(), s.size(), i, c);
    if (len == 0) len = 1;
    if (pred(c)) {
      if (last < i) out.push_back({last, i, false});
      out.push_back({i, i + len, true});
      last = i + len;
    }
    i += len;
  }
  if (last < s.size()) out.push_back({last, s.size(), false});
}

template <class Pred>
void split_chars(std::vector<Split>& splits, Pred pred, SplitBehavior b) {
  thread_local std::vector<PMatch> ms;
  split_each(splits, [&](const NStr& n, std::vector<NStr>& out) {
    char_matches(n.s, pred, ms);
    split_normalized(n, ms, b, out);
  });
}

void split_pattern(std::vector<Split>& splits, const Pattern& p, SplitBehavior b, bool invert) {
  thread_local std::vector<PMatch> ms;
  split_each(splits, [&](const NStr& n, std::vector<NStr>& out) {
    p.find(n.s, ms);
    if (invert)
      for (auto& m : ms) m.match = !m.match;
    split_normalized(n, ms, b, out);
  });
}

struct SequencePre final : PreTokenizer {
  std::vector<std::unique_ptr<PreTokenizer>> items;
  void pre_tokenize(std::vector<Split>& s, bool ps) const override {
    for (const auto& x : items) x->pre_tokenize(s, ps);
  }
  bool has_byte_level() const override {
    for (const auto& x : items)
      if (x->has_byte_level()) return true;
    return false;
  }
};
struct BertPre final : PreTokenizer {
  void pre_tokenize(std::vector<Split>& s, bool) const override {
    split_chars(s, [](char32_t c) { return is_whitespace(c); }, SplitBehavior::removed);
    split_chars(s, [](char32_t c) { return is_punctuation(c); }, SplitBehavior::isolated);
  }
};
struct WhitespaceSplitPre final : PreTokenizer {
  void pre_tokenize(std::vector<Split>& s, bool) const override {
    split_chars(s, [](char32_t c) { return is_whitespace(c); }, SplitBehavior::removed);
  }
};
struct WhitespacePre final : PreTokenizer {
  Pattern p;
  WhitespacePre() {
    p.regex = std::make_shared<Regex>(
        R"([\p{L}\p{M}\p{Nd}\p{Pc}]+|[^\p{L}\p{M}\p{Nd}\p{Pc}\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+)",
        "Whitespace pre-tokenizer");
  }
  void pre_tokenize(std::vector<Split>& s, bool) const override { split_pattern(s, p, SplitBehavior::removed, true); }
};
struct PunctuationPre final : PreTokenizer {
  SplitBehavior b = SplitBehavior::isolated;
  void pre_tokenize(std::vector<Split>& s, bool) const override {
    split_chars(s, [](char32_t c) { return is_punctuation(c); }, b);
  }
};
struct DigitsPre final : PreTokenizer {
  bool individual = false;
  void pre_tokenize(std::vector<Split>& s, bool) const override {
    split_chars(s, is_numeric, individual ? SplitBehavior::isolated : SplitBehavior::contiguous);
  }
};
struct SplitPre final : PreTokenizer {
  Pattern p;
  SplitBehavior b = SplitBehavior::removed;
  bool invert = false;
  void pre_tokenize(std::vector<Split>& s, bool) const override { split_pattern(s, p, b, invert); }
};
enum class Prepend { always, first, never };
struct MetaspacePre final : PreTokenizer {
  char32_t replacement = 0x2581;
  std::string rep = "\xE2\x96\x81";
  Prepend scheme = Prepend::always;
  bool split = true;
  void pre_tokenize(std::vector<Split>& splits, bool) const override {
    thread_local std::vector<PMatch> ms;
    split_each(splits, [&](const NStr& in, std::vector<NStr>& out) {
      NStr n = in;
      if (n.s.find(' ') != std::string::npos) {
        std::string ns;
        std::vector<Align> nal;
        ns.reserve(n.s.size() + 8);
        for (size_t i = 0; i < n.s.size(); ++i) {
          if (n.s[i] == ' ') {
            ns += rep;
            nal.insert(nal.end(), rep.size(), n.al[i]);
          } else {
            ns.push_back(n.s[i]);
            nal.push_back(n.al[i]);
          }
        }
        n.s = std::move(ns);
        n.al = std::move(nal);
      }
      bool starts = n.s.compare(0, rep.size(), rep) == 0;
      if (scheme == Prepend::always && !starts) n.prepend(rep);
      if (scheme == Prepend::first && !starts && n.shift == 0) n.prepend(rep);
      if (split) {
        char_matches(n.s, [&](char32_t c) { return c == replacement; }, ms);
        split_normalized(n, ms, SplitBehavior::merged_with_next, out);
      } else {
        out.push_back(std::move(n));
      }
    });
  }
};

const Regex& gpt2_regex() {
  static const Regex re(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\p{L}\p{N}]+|[\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+(?![^\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}])|[\t\n\x0B\f\r\x20\x85\xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+)",
      "ByteLevel pre-tokenizer");
  return re;
}

struct ByteTables {
  std::string chars[256];
  int rev[324];
  ByteTables() {
    std::fill(std::begin(rev), std::end(rev), -1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      append_utf8(chars[b], c);
      rev[c] = b;
    }
  }
};
const ByteTables& byte_tables() {
  static const ByteTables t;
  return t;
}

}  // namespace

const std::string& byte_char(uint8_t b) { return byte_tables().chars[b]; }
int char_byte(char32_t c) { return c < 324 ? byte_tables().rev[c] : -1; }

void ByteLevelPre::pre_tokenize(std::vector<Split>& splits, bool pre_split) const {
  const bool add_prefix = add_prefix_space || pre_split;
  thread_local std::vector<std::pair<size_t, size_t>> found;
  split_each(splits, [&](const NStr& in, std::vector<NStr>& out) {
    const NStr* n = &in;
    NStr pre;
    if (add_prefix && in.s[0] != ' ') {
      pre = in;
      pre.prepend(" ");
      n = &pre;
    }
    if (!use_regex) {
      out.push_back(*n);
      return;
    }
    found.clear();
    gpt2_regex().find_all(n->s, found);
    size_t prev = 0;
    for (auto [b, e] : found) {
      if (prev < b) out.push_back(n->slice(prev, b));
      out.push_back(n->slice(b, e));
      prev = e;
    }
    if (prev < n->s.size()) out.push_back(n->slice(prev, n->s.size()));
  });
  const auto& t = byte_tables();
  for (auto& sp : splits) {
    if (sp.has_tokens) continue;
    NStr& n = sp.n;
    std::string ns;
    std::vector<Align> nal;
    ns.reserve(n.s.size() * 2);
    nal.reserve(n.s.size() * 2);
    for (size_t i = 0; i < n.s.size(); ++i) {
      const std::string& c = t.chars[static_cast<unsigned char>(n.s[i])];
      ns += c;
      nal.insert(nal.end(), c.size(), n.al[i]);
    }
    n.s = std::move(ns);
    n.al = std::move(nal);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoders.
namespace {

std::string lossy_utf8(std::string_view b) {
  std::string out;
  out.reserve(b.size());
  size_t i = 0;
  while (i < b.size()) {
    char32_t c;
    size_t len = decode_utf8(b.data(), b.size(), i, c);
    if (len > 0) {
      out.append(b.data() + i, len);
      i += len;
      continue;
    }
    // Maximal subpart of an ill-formed sequence → one U+FFFD (Rust from_utf8_lossy).
    auto u = [&](size_t k) { return static_cast<unsigned char>(b[k]); };
    unsigned char b0 = u(i);
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) need = 1;
    else if (b0 == 0xE0) { need = 2; lo = 0xA0; }
    else if (b0 >= 0xE1 && b0 <= 0xEC) need = 2;
    else if (b0 == 0xED) { need = 2; hi = 0x9F; }
    else if (b0 >= 0xEE && b0 <= 0xEF) need = 2;
    else if (b0 == 0xF0) { need = 3; lo = 0x90; }
    else if (b0 >= 0xF1 && b0 <= 0xF3) need = 3;
    else if (b0 == 0xF4) { need = 3; hi = 0x8F; }
    size_t k = 1;
    if (need > 0) {
      if (i + 1 < b.size() && u(i + 1) >= lo && u(i + 1) <= hi) {
        k = 2;
        while (k <= need && i + k < b.size() && (u(i + k) & 0xC0) == 0x80) ++k;
      }
    }
    out += "\xEF\xBF\xBD";
    i += k;
  }
  return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return s;
  std::string out;
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

struct SequenceDec final : Decoder {
  std::vector<std::unique_ptr<Decoder>> items;
  void decode_chain(std::vector<std::string>& t) const override {
    for (const auto& x : items) x->decode_chain(t);
  }
};
struct ByteLevelDec final : Decoder {
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const auto& t : tokens) {
      size_t mark = bytes.size();
      bool ok = true;
      size_t i = 0;
      while (i < t.size()) {
        char32_t c = 0;
        size_t len = decode_utf8(t.data(), t.size(), i, c);
        int b = len ? char_byte(c) : -1;
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
        i += len;
      }
      if (!ok) {
        bytes.resize(mark);
        bytes += t;
      }
    }
    tokens.assign(1, lossy_utf8(bytes));
  }
};
struct WordPieceDec final : Decoder {
  std::string prefix = "##";
  bool cleanup = true;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix.size(), prefix) == 0)
          t.erase(0, prefix.size());
        else
          t.insert(t.begin(), ' ');
      }
      if (cleanup) {
        for (auto [a, b] : {std::pair<const char*, const char*>{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","},
                            {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"},
                            {" 've", "'ve"}, {" 're", "'re"}})
          t = replace_all(std::move(t), a, b);
      }
    }
  }
};
struct MetaspaceDec final : Decoder {
  char32_t replacement = 0x2581;
  Prepend scheme = Prepend::always;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      size_t k = 0;
      while (k < t.size()) {
        char32_t c = 0;
        size_t len = decode_utf8(t.data(), t.size(), k, c);
        if (len == 0) len = 1;
        if (c == replacement) {
          if (!(i == 0 && scheme != Prepend::never)) out.push_back(' ');
        } else {
          out.append(t, k, len);
        }
        k += len;
      }
      tokens[i] = std::move(out);
    }
  }
};
struct BPEDec final : Decoder {
  std::string suffix = "</w>";
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replace_all(std::move(tokens[i]), suffix, i + 1 == tokens.size() ? "" : " ");
  }
};
struct ReplaceDec final : Decoder {
  Pattern pattern;
  std::string content;
  void decode_chain(std::vector<std::string>& tokens) const override {
    thread_local std::vector<PMatch> ms;
    for (auto& t : tokens) {
      pattern.find(t, ms);
      std::string out;
      for (const auto& m : ms) {
        if (m.match)
          out += content;
        else
          out.append(t, m.b, m.e - m.b);
      }
      t = std::move(out);
    }
  }
};
struct ByteFallbackDec final : Decoder {
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t nbytes = 0;
    auto flush = [&] {
      if (nbytes == 0) return;
      if (find_invalid_utf8_local(bytes)) {
        for (size_t k = 0; k < nbytes; ++k) out.emplace_back("\xEF\xBF\xBD");
      } else {
        out.push_back(bytes);
      }
      bytes.clear();
      nbytes = 0;
    };
    for (auto& t : tokens) {
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          return -1;
        };
        int h = hex(t[3]), l = hex(t[4]);
        if (h >= 0 && l >= 0) byte = h * 16 + l;
      }
      if (byte >= 0) {
        bytes.push_back(static_cast<char>(byte));
        ++nbytes;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens = std::move(out);
  }
  static bool find_invalid_utf8_local(const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
      char32_t c;
      size_t len = decode_utf8(s.data(), s.size(), i, c);
      if (len == 0) return true;
      i += len;
    }
    return false;
  }
};
struct FuseDec final : Decoder {
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};
struct StripDec final : Decoder {
  char32_t content = ' ';
  size_t start = 0, stop = 0;
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      auto cs = chars_of(t);
      size_t b = 0;
      for (size_t i = 0; i < start && i < cs.size(); ++i) {
        if (cs[i] != content) break;
        b = i + 1;
      }
      size_t e = cs.size();
      for (size_t i = 0; i < stop && i < cs.size(); ++i) {
        size_t idx = cs.size() - i - 1;
        if (cs[idx] != content) break;
        e = idx;
      }
      std::string out;
      for (size_t i = b; i < e; ++i) append_utf8(out, cs[i]);
      t = std::move(out);
    }
  }
};

SplitBehavior behavior_of(const json& j, const char* key, SplitBehavior dflt, const std::string& path,
                          const std::string& where) {
  std::string b = jstr(j, key, "", path, where);
  if (b.empty()) return dflt;
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  throw FormatError(cat(path, ": field '", where, key, "' must be Removed, Isolated, MergedWithPrevious, "
                        "MergedWithNext or Contiguous, got \"", b, "\""));
}

char32_t single_char(const json& j, const char* key, char32_t dflt, const std::string& path, const std::string& where) {
  std::string s = jstr(j, key, "", path, where);
  if (s.empty()) return dflt;
  auto cs = chars_of(s);
  if (cs.size() != 1)
    throw FormatError(cat(path, ": field '", where, key, "' must be a single character, got \"", s, "\""));
  return cs[0];
}

Prepend prepend_of(const json& j, const std::string& path, const std::string& where) {
  std::string scheme = jstr(j, "prepend_scheme", "", path, where);
  if (scheme.empty()) {
    const json* a = jmember(j, "add_prefix_space");
    if (a && a->is_boolean()) return a->get<bool>() ? Prepend::always : Prepend::never;
    return Prepend::always;
  }
  if (scheme == "always") return Prepend::always;
  if (scheme == "first") return Prepend::first;
  if (scheme == "never") return Prepend::never;
  throw FormatError(cat(path, ": field '", where, "prepend_scheme' must be always, first or never, got \"", scheme, "\""));
}

const json& typed(const json& j, const std::string& path, const std::string& where, std::string& type) {
  if (!j.is_object()) throw FormatError(cat(path, ": field '", where, "' must be an object, got ", j.type_name()));
  type = jstr(j, "type", "", path, where + ".");
  if (type.empty()) throw FormatError(cat(path, ": field '", where, ".type' is missing"));
  return j;
}

const json& array_field(const json& j, const char* key, const std::string& path, const std::string& where) {
  const json* v = jmember(j, key);
  if (!v || !v->is_array()) throw FormatError(cat(path, ": field '", where, ".", key, "' must be an array"));
  return *v;
}

}  // namespace

std::unique_ptr<Normalizer> make_precompiled(const json& j, const std::string& path, const std::string& where);

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& path, const std::string& where) {
  std::string t;
  typed(j, path, where, t);
  const std::string w = where + ".";
  if (t == "Sequence") {
    auto s = std::make_unique<SequenceNorm>();
    const json& arr = array_field(j, "normalizers", path, where);
    for (size_t k = 0; k < arr.size(); ++k) s->items.push_back(make_normalizer(arr[k], path, cat(where, ".normalizers[", k, "]")));
    return s;
  }
  if (t == "BertNormalizer") {
    auto n = std::make_unique<BertNorm>();
    n->clean_text = jbool(j, "clean_text", true, path, w);
    n->chinese = jbool(j, "handle_chinese_chars", true, path, w);
    n->lower = jbool(j, "lowercase", true, path, w);
    if (const json* sa = jmember(j, "strip_accents"); sa && !sa->is_null()) {
      if (!sa->is_boolean()) throw FormatError(cat(path, ": field '", w, "strip_accents' must be a boolean or null"));
      n->strip = sa->get<bool>();
    }
    return n;
  }
  if (t == "Lowercase") return std::make_unique<LowercaseNorm>();
  if (t == "NFC") return std::make_unique<UnicodeNorm>(false, true);
  if (t == "NFD") return std::make_unique<UnicodeNorm>(false, false);
  if (t == "NFKC") return std::make_unique<UnicodeNorm>(true, true);
  if (t == "NFKD") return std::make_unique<UnicodeNorm>(true, false);
  if (t == "StripAccents") return std::make_unique<StripAccentsNorm>();
  if (t == "Strip") {
    auto n = std::make_unique<StripNorm>();
    n->left = jbool(j, "strip_left", true, path, w);
    n->right = jbool(j, "strip_right", true, path, w);
    return n;
  }
  if (t == "Replace") {
    auto n = std::make_unique<ReplaceNorm>();
    const json* p = jmember(j, "pattern");
    if (!p) throw FormatError(cat(path, ": field '", w, "pattern' is missing"));
    n->pattern = pattern_from_json(*p, cat(path, ": field '", w, "pattern'"));
    n->content = jstr(j, "content", "", path, w);
    return n;
  }
  if (t == "Prepend") {
    auto n = std::make_unique<PrependNorm>();
    n->prepend = jstr(j, "prepend", "", path, w);
    return n;
  }
  if (t == "Precompiled") return make_precompiled(j, path, where);
  throw FormatError(cat(path, ": normalizer type '", t, "' (field '", where,
                        ".type') is not supported (graft reads BertNormalizer, Lowercase, NFC, NFD, NFKC, NFKD, "
                        "StripAccents, Strip, Replace, Prepend, Precompiled, Sequence)"));
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& path, const std::string& where) {
  std::string t;
  typed(j, path, where, t);
  const std::string w = where + ".";
  if (t == "Sequence") {
    auto s = std::make_unique<SequencePre>();
    const json& arr = array_field(j, "pretokenizers", path, where);
    for (size_t k = 0; k < arr.size(); ++k)
      s->items.push_back(make_pre_tokenizer(arr[k], path, cat(where, ".pretokenizers[", k, "]")));
    return s;
  }
  if (t == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (t == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPre>();
  if (t == "Whitespace") return std::make_unique<WhitespacePre>();
  if (t == "Punctuation") {
    auto p = std::make_unique<PunctuationPre>();
    p->b = behavior_of(j, "behavior", SplitBehavior::isolated, path, w);
    return p;
  }
  if (t == "Digits") {
    auto p = std::make_unique<DigitsPre>();
    p->individual = jbool(j, "individual_digits", false, path, w);
    return p;
  }
  if (t == "Split") {
    auto p = std::make_unique<SplitPre>();
    const json* pat = jmember(j, "pattern");
    if (!pat) throw FormatError(cat(path, ": field '", w, "pattern' is missing"));
    p->p = pattern_from_json(*pat, cat(path, ": field '", w, "pattern'"));
    const json* bj = jmember(j, "behavior");
    if (!bj || !bj->is_string()) throw FormatError(cat(path, ": field '", w, "behavior' is missing"));
    p->b = behavior_of(j, "behavior", SplitBehavior::removed, path, w);
    p->invert = jbool(j, "invert", false, path, w);
    return p;
  }
  if (t == "Metaspace") {
    auto p = std::make_unique<MetaspacePre>();
    p->replacement = single_char(j, "replacement", 0x2581, path, w);
    p->rep.clear();
    append_utf8(p->rep, p->replacement);
    p->scheme = prepend_of(j, path, w);
    p->split = jbool(j, "split", true, path, w);
    return p;
  }
  if (t == "ByteLevel") {
    auto p = std::make_unique<ByteLevelPre>();
    p->add_prefix_space = jbool(j, "add_prefix_space", true, path, w);
    p->trim_offsets = jbool(j, "trim_offsets", true, path, w);
    p->use_regex = jbool(j, "use_regex", true, path, w);
    return p;
  }
  throw FormatError(cat(path, ": pre_tokenizer type '", t, "' (field '", where,
                        ".type') is not supported (graft reads BertPreTokenizer, ByteLevel, Metaspace, Whitespace, "
                        "WhitespaceSplit, Punctuation, Digits, Split, Sequence)"));
}

std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& path, const std::string& where) {
  std::string t;
  typed(j, path, where, t);
  const std::string w = where + ".";
  if (t == "Sequence") {
    auto s = std::make_unique<SequenceDec>();
    const json& arr = array_field(j, "decoders", path, where);
    for (size_t k = 0; k < arr.size(); ++k) s->items.push_back(make_decoder(arr[k], path, cat(where, ".decoders[", k, "]")));
    return s;
  }
  if (t == "ByteLevel") return std::make_unique<ByteLevelDec>();
  if (t == "WordPiece") {
    auto d = std::make_unique<WordPieceDec>();
    d->prefix = jstr(j, "prefix", "##", path, w);
    d->cleanup = jbool(j, "cleanup", true, path, w);
    return d;
  }
  if (t == "Metaspace") {
    auto d = std::make_unique<MetaspaceDec>();
    d->replacement = single_char(j, "replacement", 0x2581, path, w);
    d->scheme = prepend_of(j, path, w);
    return d;
  }
  if (t == "BPEDecoder") {
    auto d = std::make_unique<BPEDec>();
    d->suffix = jstr(j, "suffix", "</w>", path, w);
    return d;
  }
  if (t == "Replace") {
    auto d = std::make_unique<ReplaceDec>();
    const json* p = jmember(j, "pattern");
    if (!p) throw FormatError(cat(path, ": field '", w, "pattern' is missing"));
    d->pattern = pattern_from_json(*p, cat(path, ": field '", w, "pattern'"));
    d->content = jstr(j, "content", "", path, w);
    return d;
  }
  if (t == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (t == "Fuse") return std::make_unique<FuseDec>();
  if (t == "Strip") {
    auto d = std::make_unique<StripDec>();
    d->content = single_char(j, "content", ' ', path, w);
    d->start = static_cast<size_t>(std::max<int64_t>(0, jint(j, "start", 0, path, w)));
    d->stop = static_cast<size_t>(std::max<int64_t>(0, jint(j, "stop", 0, path, w)));
    return d;
  }
  throw FormatError(cat(path, ": decoder type '", t, "' (field '", where,
                        ".type') is not supported (graft reads ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, "
                        "ByteFallback, Fuse, Strip, Sequence)"));
}

namespace {
void parse_post(const json& j, const std::string& path, const std::string& where, PostSpec& spec) {
  std::string t;
  typed(j, path, where, t);
  const std::string w = where + ".";
  auto pair_of = [&](const char* key, const char* dtok, int64_t did) -> std::pair<std::string, int64_t> {
    const json* v = jmember(j, key);
    if (!v) return {dtok, did};
    if (!v->is_array() || v->size() != 2 || !(*v)[0].is_string() || !(*v)[1].is_number_integer())
      throw FormatError(cat(path, ": field '", w, key, "' must be [token, id]"));
    return {(*v)[0].get<std::string>(), (*v)[1].get<int64_t>()};
  };
  auto sp = [](const std::string& id, int64_t type) { return TemplatePiece{false, 0, id, type}; };
  auto sq = [](int s, int64_t type) { return TemplatePiece{true, s, "", type}; };
  if (t == "Sequence") {
    const json& arr = array_field(j, "processors", path, where);
    for (size_t k = 0; k < arr.size(); ++k) parse_post(arr[k], path, cat(where, ".processors[", k, "]"), spec);
    return;
  }
  if (t == "ByteLevel") {
    if (jbool(j, "trim_offsets", true, path, w))
      spec.trims.push_back(PostSpec::Trim{jbool(j, "add_prefix_space", true, path, w)});
    return;
  }
  if (t == "BertProcessing") {
    auto [sep, sep_id] = pair_of("sep", "[SEP]", 102);
    auto [cls, cls_id] = pair_of("cls", "[CLS]", 101);
    spec.tmpl.enabled = true;
    spec.tmpl.special_tokens = {TemplateSpecial{cls, {cls_id}, {cls}}, TemplateSpecial{sep, {sep_id}, {sep}}};
    spec.tmpl.single = {sp(cls, 0), sq(0, 0), sp(sep, 0)};
    spec.tmpl.pair = {sp(cls, 0), sq(0, 0), sp(sep, 0), sq(1, 1), sp(sep, 1)};
    return;
  }
  if (t == "RobertaProcessing") {
    auto [sep, sep_id] = pair_of("sep", "</s>", 2);
    auto [cls, cls_id] = pair_of("cls", "<s>", 0);
    if (jbool(j, "trim_offsets", true, path, w))
      spec.trims.push_back(PostSpec::Trim{jbool(j, "add_prefix_space", true, path, w)});
    spec.zero_type_ids = true;
    spec.tmpl.enabled = true;
    spec.tmpl.special_tokens = {TemplateSpecial{cls, {cls_id}, {cls}}, TemplateSpecial{sep, {sep_id}, {sep}}};
    spec.tmpl.single = {sp(cls, 0), sq(0, 0), sp(sep, 0)};
    spec.tmpl.pair = {sp(cls, 0), sq(0, 0), sp(sep, 0), sp(sep, 0), sq(1, 0), sp(sep, 0)};
    return;
  }
  if (t == "TemplateProcessing") {
    auto pieces = [&](const char* key) {
      std::vector<TemplatePiece> out;
      const json& arr = array_field(j, key, path, where);
      for (size_t k = 0; k < arr.size(); ++k) {
        std::string pw = cat(w, key, "[", k, "].");
        const json& p = arr[k];
        TemplatePiece tp;
        if (const json* s = jmember(p, "SpecialToken")) {
          tp.special = jstr(*s, "id", "", path, pw + "SpecialToken.");
          tp.type_id = jint(*s, "type_id", 0, path, pw + "SpecialToken.");
        } else if (const json* s = jmember(p, "Sequence")) {
          tp.is_sequence = true;
          std::string id = jstr(*s, "id", "A", path, pw + "Sequence.");
          if (id != "A" && id != "B")
            throw FormatError(cat(path, ": field '", pw, "Sequence.id' must be \"A\" or \"B\", got \"", id, "\""));
          tp.sequence = id == "A" ? 0 : 1;
          tp.type_id = jint(*s, "type_id", 0, path, pw + "Sequence.");
        } else {
          throw FormatError(cat(path, ": field '", pw, "' must be {\"SpecialToken\": …} or {\"Sequence\": …}"));
        }
        out.push_back(std::move(tp));
      }
      return out;
    };
    spec.tmpl.enabled = true;
    spec.tmpl.single = pieces("single");
    spec.tmpl.pair = pieces("pair");
    spec.tmpl.special_tokens.clear();
    if (const json* st = jmember(j, "special_tokens"); st && !st->is_null()) {
      if (!st->is_object()) throw FormatError(cat(path, ": field '", w, "special_tokens' must be an object"));
      for (auto it = st->begin(); it != st->end(); ++it) {
        std::string sw = cat(w, "special_tokens.", it.key(), ".");
        TemplateSpecial s;
        s.id = jstr(it.value(), "id", it.key(), path, sw);
        const json* ids = jmember(it.value(), "ids");
        const json* toks = jmember(it.value(), "tokens");
        if (!ids || !ids->is_array() || !toks || !toks->is_array())
          throw FormatError(cat(path, ": field '", sw, "' needs arrays 'ids' and 'tokens'"));
        for (const auto& x : *ids) {
          if (!x.is_number_integer()) throw FormatError(cat(path, ": field '", sw, "ids' must hold integers"));
          s.ids.push_back(x.get<int64_t>());
        }
        for (const auto& x : *toks) {
          if (!x.is_string()) throw FormatError(cat(path, ": field '", sw, "tokens' must hold strings"));
          s.tokens.push_back(x.get<std::string>());
        }
        if (s.ids.size() != s.tokens.size())
          throw FormatError(cat(path, ": field '", sw, "' has ", s.ids.size(), " ids but ", s.tokens.size(), " tokens"));
        spec.tmpl.special_tokens.push_back(std::move(s));
      }
    }
    for (const auto* tm : {&spec.tmpl.single, &spec.tmpl.pair})
      for (const auto& p : *tm) {
        if (p.is_sequence) continue;
        bool found = std::any_of(spec.tmpl.special_tokens.begin(), spec.tmpl.special_tokens.end(),
                                 [&](const TemplateSpecial& s) { return s.id == p.special; });
        if (!found)
          throw FormatError(cat(path, ": field '", w, "single/pair' uses special token '", p.special,
                                "' that is not defined in its special_tokens"));
      }
    return;
  }
  throw FormatError(cat(path, ": post_processor type '", t, "' (field '", where,
                        ".type') is not supported (graft reads BertProcessing, RobertaProcessing, TemplateProcessing, "
                        "ByteLevel, Sequence)"));
}
}  // namespace

PostSpec make_post(const json& j, const std::string& path, const std::string& where) {
  PostSpec spec;
  spec.tmpl.enabled = false;
  if (j.is_null()) return spec;
  parse_post(j, path, where, spec);
  return spec;
}

}  // namespace graft::core::tok
