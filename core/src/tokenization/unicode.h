#pragma once
// Unicode helpers for the tokenizers (utf8proc underneath), with the exact character classes
// HF tokenizers (Rust) uses for BERT: char::is_whitespace, unicode_categories' is_other /
// is_punctuation / is_mark_nonspacing, char::to_lowercase.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace graft::core::tok {

/// Decodes one UTF-8 sequence at s[i]. Returns its length (1..4) and sets `cp`, or 0 when the
/// bytes at i are not valid UTF-8 (truncated, overlong, surrogate, > U+10FFFF, stray byte).
inline size_t decode_utf8(const char* s, size_t n, size_t i, char32_t& cp) {
  auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  auto cont = [&](size_t k) -> int {
    if (i + k >= n) return -1;
    auto b = static_cast<unsigned char>(s[i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    int c1 = cont(1);
    if (c1 < 0) return 0;
    cp = (char32_t(b0 & 0x1F) << 6) | char32_t(c1);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    int c1 = cont(1), c2 = c1 < 0 ? -1 : cont(2);
    if (c1 < 0 || c2 < 0) return 0;
    cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(c1) << 6) | char32_t(c2);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    int c1 = cont(1), c2 = c1 < 0 ? -1 : cont(2), c3 = c2 < 0 ? -1 : cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return 0;
    cp = (char32_t(b0 & 0x07) << 18) | (char32_t(c1) << 12) | (char32_t(c2) << 6) | char32_t(c3);
    if (cp < 0x10000 || cp > 0x10FFFF) return 0;
    return 4;
  }
  return 0;
}

inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

inline size_t utf8_len(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

/// Throws DataError "<what> is not valid UTF-8 at byte N (0xXX)" unless `s` is valid UTF-8.
void check_utf8(std::string_view s, const char* what);

/// Rust `char::is_whitespace` (Unicode White_Space).
bool is_whitespace(char32_t c);
/// BertNormalizer's is_control: categories Cc, Cf, Co, except \t \n \r.
bool is_control(char32_t c);
/// BertPreTokenizer's punctuation: ASCII punctuation or a Unicode P* category.
bool is_punctuation(char32_t c);
/// BertNormalizer's CJK ideograph ranges.
bool is_chinese_char(char32_t c);
/// Category Mn.
bool is_mark_nonspacing(char32_t c);
/// Rust `char::to_lowercase` (full mapping: U+0130 → "i\u0307"). Writes up to 3 code points.
int to_lower(char32_t c, char32_t* out);
/// Canonical decomposition (NFD) of one code point. Writes up to `cap` code points.
int nfd(char32_t c, char32_t* out, int cap);

}  // namespace graft::core::tok
