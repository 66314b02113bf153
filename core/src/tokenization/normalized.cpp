// NStr (HF NormalizedString with alignments), PCRE2 regexes, patterns and split behaviours.
#include "pipeline.h"
#include "unicode.h"

#include <graft/error.h>

#include <algorithm>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace graft::core::tok {

namespace {
inline size_t char_len_at(const std::string& s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}
}  // namespace

NStr NStr::from(std::string_view text) {
  NStr n;
  n.s.assign(text);
  n.al.resize(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t len = char_len_at(n.s, i);
    if (i + len > text.size()) len = text.size() - i;
    for (size_t k = 0; k < len; ++k) n.al[i + k] = {static_cast<uint32_t>(i), static_cast<uint32_t>(i + len)};
    i += len;
  }
  return n;
}

NStr NStr::slice(size_t b, size_t e) const {
  NStr o;
  o.s.assign(s, b, e - b);
  o.al.assign(al.begin() + b, al.begin() + e);
  o.shift = b < e ? al[b].first : static_cast<uint32_t>(shift + b);
  return o;
}

void NStr::transform(const std::vector<std::pair<char32_t, int>>& dest, size_t initial_offset) {
  std::string ns;
  std::vector<Align> nal;
  ns.reserve(s.size() + 8);
  nal.reserve(s.size() + 8);
  const size_t n = s.size();
  size_t pos = 0;
  for (size_t k = 0; k < initial_offset && pos < n; ++k) pos += char_len_at(s, pos);
  for (const auto& [c, change] : dest) {
    Align a;
    if (change > 0) {
      a = pos >= 1 ? al[pos - 1] : Align{shift, shift};
    } else {
      a = pos < n ? al[pos] : (n ? al[n - 1] : Align{shift, shift});
      if (pos < n) pos += char_len_at(s, pos);
      for (int r = 0; r < -change && pos < n; ++r) pos += char_len_at(s, pos);
    }
    size_t before = ns.size();
    append_utf8(ns, c);
    nal.insert(nal.end(), ns.size() - before, a);
  }
  s = std::move(ns);
  al = std::move(nal);
}

void NStr::prepend(std::string_view p) {
  if (s.empty() || p.empty()) return;
  Align a = al[0];
  s.insert(0, p);
  al.insert(al.begin(), p.size(), a);
}

void NStr::append(std::string_view p) {
  if (s.empty() || p.empty()) return;
  Align a = al.back();
  s.append(p);
  al.insert(al.end(), p.size(), a);
}

std::pair<int64_t, int64_t> NStr::original(size_t b, size_t e) const {
  if (b >= e) return {static_cast<int64_t>(shift + b), static_cast<int64_t>(shift + e)};
  return {al[b].first, al[e - 1].second};
}

// ---------------------------------------------------------------------------------------------
Regex::Regex(const std::string& pattern, const std::string& where) {
  int err = 0;
  PCRE2_SIZE off = 0;
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err,
                             &off, nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof buf);
    throw FormatError(cat(where, ": invalid regex /", pattern, "/ at offset ", off, ": ", reinterpret_cast<char*>(buf)));
  }
  jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

namespace {
struct MatchData {
  pcre2_match_data* md = pcre2_match_data_create(4, nullptr);
  ~MatchData() { pcre2_match_data_free(md); }
};
}  // namespace

void Regex::find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const {
  thread_local MatchData data;
  auto* code = static_cast<const pcre2_code*>(code_);
  size_t start = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  while (start <= s.size()) {
    int rc = jit_ ? pcre2_jit_match(code, subject, s.size(), start, 0, data.md, nullptr)
                  : pcre2_match(code, subject, s.size(), start, PCRE2_NO_UTF_CHECK, data.md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(rc, buf, sizeof buf);
      throw DataError(cat("regex matching failed: ", reinterpret_cast<char*>(buf)));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.md);
    size_t b = ov[0], e = ov[1];
    if (e <= b) {  // empty match: move on by one char
      if (b >= s.size()) break;
      size_t len = 1;
      while (b + len < s.size() && (static_cast<unsigned char>(s[b + len]) & 0xC0) == 0x80) ++len;
      start = b + len;
      continue;
    }
    out.emplace_back(b, e);
    start = e;
  }
}

void Pattern::find(std::string_view s, std::vector<PMatch>& out) const {
  out.clear();
  if (s.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t prev = 0;
  auto emit = [&](size_t b, size_t e) {
    if (prev != b) out.push_back({prev, b, false});
    out.push_back({b, e, true});
    prev = e;
  };
  if (regex) {
    thread_local std::vector<std::pair<size_t, size_t>> found;
    found.clear();
    regex->find_all(s, found);
    for (auto [b, e] : found) emit(b, e);
  } else if (!literal.empty()) {
    size_t pos = 0;
    while (true) {
      size_t hit = s.find(literal, pos);
      if (hit == std::string_view::npos) break;
      emit(hit, hit + literal.size());
      pos = hit + literal.size();
    }
  }
  if (prev != s.size()) out.push_back({prev, s.size(), false});
}

Pattern pattern_from_json(const nlohmann::json& j, const std::string& where) {
  Pattern p;
  if (j.is_object() && j.contains("String") && j["String"].is_string()) {
    p.literal = j["String"].get<std::string>();
  } else if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
    p.regex = std::make_shared<Regex>(j["Regex"].get<std::string>(), where);
  } else if (j.is_string()) {
    p.literal = j.get<std::string>();
  } else {
    throw FormatError(cat(where, " must be {\"String\": \"...\"} or {\"Regex\": \"...\"}"));
  }
  return p;
}

void split_normalized(const NStr& n, const std::vector<PMatch>& matches, SplitBehavior behavior,
                      std::vector<NStr>& out) {
  // (b, e, remove)
  thread_local std::vector<PMatch> splits;
  splits.clear();
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const auto& m : matches) splits.push_back({m.b, m.e, false});
      break;
    case SplitBehavior::removed:
      splits.assign(matches.begin(), matches.end());
      break;
    case SplitBehavior::contiguous: {
      bool prev = false;
      for (const auto& m : matches) {
        if (m.match == prev && !splits.empty())
          splits.back().e = m.e;
        else
          splits.push_back({m.b, m.e, false});
        prev = m.match;
      }
      break;
    }
    case SplitBehavior::merged_with_previous: {
      bool prev = false;
      for (const auto& m : matches) {
        if (m.match && !prev && !splits.empty())
          splits.back().e = m.e;
        else
          splits.push_back({m.b, m.e, false});
        prev = m.match;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool prev = false;
      for (size_t k = matches.size(); k-- > 0;) {
        const auto& m = matches[k];
        if (m.match && !prev && !splits.empty())
          splits.back().b = m.b;
        else
          splits.push_back({m.b, m.e, false});
        prev = m.match;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  for (const auto& sp : splits) {
    if (sp.match || sp.e <= sp.b) continue;  // `match` = remove here
    out.push_back(n.slice(sp.b, sp.e));
  }
}

}  // namespace graft::core::tok
