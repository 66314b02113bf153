// The Precompiled normalizer: sentencepiece's compiled character map as stored in tokenizer.json
// (base64 of [u32 trie bytes][darts-clone double-array trie][NUL-separated replacement strings]),
// applied grapheme by grapheme with HF tokenizers' exact rules: a grapheme shorter than 6 bytes is
// replaced as a whole when a prefix of it is in the map (the shortest matching prefix), otherwise
// char by char; alignments follow HF's change marks.
#include "json_util.h"
#include "pipeline.h"
#include "unicode.h"

#include <graft/core/files.h>
#include <graft/error.h>

#include <utf8proc.h>

namespace graft::core::tok {

using json = nlohmann::json;

namespace {

std::string base64_decode(const std::string& in, const std::string& where) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') break;
    if (c == '\n' || c == '\r' || c == ' ') continue;
    int v = val(c);
    if (v < 0) throw FormatError(cat(where, " is not valid base64 (character ", i, ")"));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

struct PrecompiledNorm final : Normalizer {
  std::vector<uint32_t> units;
  std::string normalized;

  // darts-clone DoubleArray::commonPrefixSearch, first (shortest) result only.
  bool first_prefix(const char* key, size_t len, uint32_t& value) const {
    auto offset = [](uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
    auto has_leaf = [](uint32_t u) { return ((u >> 8) & 1) == 1; };
    auto label = [](uint32_t u) { return u & ((1u << 31) | 0xFF); };
    if (units.empty()) return false;
    size_t node = 0;
    uint32_t unit = units[0];
    node ^= offset(unit);
    for (size_t i = 0; i < len; ++i) {
      auto c = static_cast<unsigned char>(key[i]);
      if (c == 0) return false;
      node ^= c;
      if (node >= units.size()) return false;
      unit = units[node];
      if (label(unit) != c) return false;
      node ^= offset(unit);
      if (has_leaf(unit)) {
        if (node >= units.size()) return false;
        value = units[node] & ((1u << 31) - 1);
        return true;
      }
    }
    return false;
  }

  bool transform(std::string_view chunk, std::string_view& out) const {
    uint32_t v = 0;
    if (!first_prefix(chunk.data(), chunk.size(), v)) return false;
    if (v > normalized.size()) return false;
    size_t end = normalized.find('\0', v);
    if (end == std::string::npos) end = normalized.size();
    out = std::string_view(normalized).substr(v, end - v);
    return true;
  }

  static void replace(std::vector<std::pair<char32_t, int>>& dest, size_t old_count, std::string_view norm) {
    size_t start = dest.size();
    size_t i = 0;
    while (i < norm.size()) {
      char32_t c = 0;
      size_t len = decode_utf8(norm.data(), norm.size(), i, c);
      if (len == 0) {
        c = 0xFFFD;
        len = 1;
      }
      dest.emplace_back(c, 0);
      i += len;
    }
    auto diff = static_cast<long>(dest.size() - start) - static_cast<long>(old_count);
    if (diff > 0) {
      for (long k = 0; k < diff && k < static_cast<long>(dest.size()); ++k) dest[dest.size() - 1 - k].second = 1;
    } else if (diff < 0 && !dest.empty()) {
      dest.back().second += static_cast<int>(diff);
    }
  }

  void normalize(NStr& n) const override {
    if (units.empty() || n.s.empty()) return;
    const std::string& s = n.s;
    // chars with their byte positions
    std::vector<std::pair<char32_t, uint32_t>> cs;
    cs.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
      char32_t c = 0;
      size_t len = decode_utf8(s.data(), s.size(), i, c);
      if (len == 0) len = 1;
      cs.emplace_back(c, static_cast<uint32_t>(i));
      i += len;
    }
    std::vector<std::pair<char32_t, int>> dest;
    dest.reserve(cs.size() + 8);
    bool modified = false;
    utf8proc_int32_t state = 0;
    size_t g = 0;
    std::string_view norm;
    while (g < cs.size()) {
      size_t h = g + 1;
      while (h < cs.size() && !utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(cs[h - 1].first),
                                                                 static_cast<utf8proc_int32_t>(cs[h].first), &state))
        ++h;
      if (h < cs.size()) state = 0;
      size_t gb = cs[g].second, ge = h < cs.size() ? cs[h].second : s.size();
      if (ge - gb < 6 && transform(std::string_view(s).substr(gb, ge - gb), norm)) {
        modified = true;
        replace(dest, h - g, norm);
      } else {
        for (size_t k = g; k < h; ++k) {
          size_t cb = cs[k].second, ce = k + 1 < cs.size() ? cs[k + 1].second : s.size();
          if (transform(std::string_view(s).substr(cb, ce - cb), norm)) {
            modified = true;
            replace(dest, 1, norm);
          } else {
            dest.emplace_back(cs[k].first, 0);
          }
        }
      }
      g = h;
    }
    if (modified) n.transform(dest, 0);
  }
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled(const json& j, const std::string& path, const std::string& where) {
  auto n = std::make_unique<PrecompiledNorm>();
  const json* cm = jmember(j, "precompiled_charsmap");
  if (!cm || cm->is_null()) return n;  // identity
  std::string field = cat(path, ": field '", where, ".precompiled_charsmap'");
  std::string blob;
  if (cm->is_string()) {
    blob = base64_decode(cm->get<std::string>(), field);
  } else if (cm->is_array()) {
    for (const auto& b : *cm) {
      if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 255)
        throw FormatError(cat(field, " must be base64 or an array of bytes"));
      blob.push_back(static_cast<char>(b.get<int>()));
    }
  } else {
    throw FormatError(cat(field, " must be a base64 string, got ", cm->type_name()));
  }
  if (blob.empty()) return n;
  if (blob.size() < 4) throw FormatError(cat(field, " is truncated (", blob.size(), " bytes)"));
  auto u32 = [&](size_t p) {
    return static_cast<uint32_t>(static_cast<unsigned char>(blob[p])) |
           (static_cast<uint32_t>(static_cast<unsigned char>(blob[p + 1])) << 8) |
           (static_cast<uint32_t>(static_cast<unsigned char>(blob[p + 2])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(blob[p + 3])) << 24);
  };
  uint32_t trie_bytes = u32(0);
  if (trie_bytes % 4 != 0 || 4 + static_cast<size_t>(trie_bytes) > blob.size())
    throw FormatError(cat(field, ": trie size ", trie_bytes, " does not fit the ", blob.size(), "-byte charsmap"));
  n->units.resize(trie_bytes / 4);
  for (size_t k = 0; k < n->units.size(); ++k) n->units[k] = u32(4 + 4 * k);
  n->normalized = blob.substr(4 + trie_bytes);
  if (find_invalid_utf8(n->normalized) >= 0)
    throw FormatError(cat(field, ": the replacement strings are not valid UTF-8"));
  return n;
}

}  // namespace graft::core::tok
