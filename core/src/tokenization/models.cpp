// tokenizer.json models (HF tokenizers 0.22 semantics): BPE (merges by rank with a word cache,
// continuing_subword_prefix / end_of_word_suffix, byte_fallback, fuse_unk, ignore_merges),
// Unigram (Viterbi over piece scores, fused unknowns, byte_fallback), WordPiece, WordLevel.
#include "json_util.h"
#include "pipeline.h"
#include "unicode.h"

#include <graft/error.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <queue>
#include <shared_mutex>

namespace graft::core::tok {

using json = nlohmann::json;

namespace {

inline size_t utf8_char_len(const char* s, size_t n, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  return std::min(len, n - i);
}

/// token → id from a tokenizer.json "vocab" object; fills the reverse table.
void read_vocab_object(const json& model, const std::string& path, TokenMap& vocab, std::vector<std::string>& rev,
                       std::vector<uint8_t>& has) {
  const json* v = jmember(model, "vocab");
  if (!v || !v->is_object()) throw FormatError(cat(path, ": field 'model.vocab' must be an object mapping token to id"));
  if (v->empty()) throw FormatError(cat(path, ": field 'model.vocab' is empty"));
  vocab.reserve(v->size() * 2);
  int64_t max_id = -1;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      throw FormatError(cat(path, ": field 'model.vocab' entry '", it.key(), "' must be a non-negative integer id, got ",
                            it.value().dump()));
    int64_t id = it.value().get<int64_t>();
    vocab.insert_or_assign(it.key(), id);
    max_id = std::max(max_id, id);
  }
  rev.assign(static_cast<size_t>(max_id + 1), std::string());
  has.assign(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [t, id] : vocab) {
    rev[id] = t;
    has[id] = 1;
  }
}

// ---------------------------------------------------------------------------------------------
struct BPEModel final : Model {
  struct Sym {
    int32_t id;
    uint32_t len;
  };
  TokenMap vocab;
  std::vector<std::string> rev;
  std::vector<uint8_t> has;
  std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> merges;  // (a, b) → (rank, new id)
  std::optional<std::string> unk;
  int64_t unk_id = -1;
  std::string prefix, suffix;
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  std::array<int32_t, 256> byte_ids{};

  struct Shard {
    mutable std::shared_mutex m;
    std::unordered_map<std::string, std::vector<Sym>, StringHash, std::equal_to<>> map;
  };
  static constexpr size_t kShards = 16, kShardCapacity = 4096, kMaxCachedLen = 256;
  std::unique_ptr<std::array<Shard, kShards>> cache = std::make_unique<std::array<Shard, kShards>>();

  static uint64_t key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

  std::string type() const override { return "BPE"; }
  int64_t size() const override { return static_cast<int64_t>(rev.size()); }
  int64_t token_to_id(std::string_view t) const override {
    auto it = vocab.find(t);
    return it == vocab.end() ? -1 : it->second;
  }
  const std::string* id_to_token(int64_t id) const override {
    if (id < 0 || id >= static_cast<int64_t>(rev.size()) || !has[id]) return nullptr;
    return &rev[id];
  }

  void merge_word(std::string_view w, std::vector<Sym>& out) const {
    out.clear();
    std::string buf;
    int64_t unk_cur = -1;
    uint32_t unk_len = 0;
    const size_t n = w.size();
    size_t i = 0;
    while (i < n) {
      size_t len = utf8_char_len(w.data(), n, i);
      bool first = i == 0, last = i + len >= n;
      std::string_view s = w.substr(i, len);
      if ((!first && !prefix.empty()) || (last && !suffix.empty())) {
        buf.clear();
        if (!first) buf += prefix;
        buf += s;
        if (last) buf += suffix;
        s = buf;
      }
      auto it = vocab.find(s);
      if (it != vocab.end()) {
        if (unk_cur >= 0) {
          out.push_back(Sym{static_cast<int32_t>(unk_cur), unk_len});
          unk_cur = -1;
        }
        out.push_back(Sym{static_cast<int32_t>(it->second), static_cast<uint32_t>(len)});
      } else {
        bool done = false;
        if (byte_fallback) {
          bool all = true;
          for (char c : s) all = all && byte_ids[static_cast<unsigned char>(c)] >= 0;
          if (all) {
            for (char c : s) out.push_back(Sym{byte_ids[static_cast<unsigned char>(c)], 1});
            done = true;
          }
        }
        if (!done && unk) {
          if (unk_id < 0) throw DataError(cat("BPE: the unknown token '", *unk, "' is not in the vocabulary"));
          if (unk_cur >= 0 && fuse_unk) {
            unk_len += static_cast<uint32_t>(len);
          } else {
            if (unk_cur >= 0) out.push_back(Sym{static_cast<int32_t>(unk_cur), unk_len});
            unk_cur = unk_id;
            unk_len = static_cast<uint32_t>(len);
          }
        }
      }
      i += len;
    }
    if (unk_cur >= 0) out.push_back(Sym{static_cast<int32_t>(unk_cur), unk_len});
    if (out.size() < 2 || merges.empty()) return;

    // Word::merge_all: lowest rank first, then leftmost.
    struct Node {
      int32_t id;
      uint32_t len;
      int32_t prev, next;
    };
    const size_t m = out.size();
    std::vector<Node> sy(m);
    for (size_t k = 0; k < m; ++k)
      sy[k] = Node{out[k].id, out[k].len, static_cast<int32_t>(k) - 1, k + 1 < m ? static_cast<int32_t>(k + 1) : -1};
    struct Merge {
      uint32_t rank;
      uint32_t pos;
      uint32_t new_id;
      bool operator<(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Merge> queue;
    for (size_t k = 0; k + 1 < m; ++k) {
      auto it = merges.find(key(static_cast<uint32_t>(sy[k].id), static_cast<uint32_t>(sy[k + 1].id)));
      if (it != merges.end()) queue.push(Merge{it->second.first, static_cast<uint32_t>(k), it->second.second});
    }
    while (!queue.empty()) {
      Merge top = queue.top();
      queue.pop();
      Node& cur = sy[top.pos];
      if (cur.len == 0 || cur.next < 0) continue;
      Node right = sy[cur.next];
      auto it = merges.find(key(static_cast<uint32_t>(cur.id), static_cast<uint32_t>(right.id)));
      if (it == merges.end() || it->second.second != top.new_id) continue;
      int32_t next_pos = cur.next;
      cur.id = static_cast<int32_t>(top.new_id);
      cur.len += right.len;
      cur.next = right.next;
      sy[next_pos].len = 0;
      if (right.next >= 0) sy[right.next].prev = static_cast<int32_t>(top.pos);
      if (cur.prev >= 0) {
        auto p = merges.find(key(static_cast<uint32_t>(sy[cur.prev].id), static_cast<uint32_t>(cur.id)));
        if (p != merges.end()) queue.push(Merge{p->second.first, static_cast<uint32_t>(cur.prev), p->second.second});
      }
      if (cur.next >= 0) {
        auto q = merges.find(key(static_cast<uint32_t>(cur.id), static_cast<uint32_t>(sy[cur.next].id)));
        if (q != merges.end()) queue.push(Merge{q->second.first, top.pos, q->second.second});
      }
    }
    out.clear();
    for (const auto& s : sy)
      if (s.len != 0) out.push_back(Sym{s.id, s.len});
  }

  void emit(const std::vector<Sym>& syms, std::vector<PToken>& out) const {
    uint32_t pos = 0;
    for (const auto& s : syms) {
      out.push_back(PToken{s.id, rev[s.id], pos, pos + s.len});
      pos += s.len;
    }
  }

  void tokenize(std::string_view s, std::vector<PToken>& out) const override {
    if (s.empty()) return;
    if (ignore_merges) {
      auto it = vocab.find(s);
      if (it != vocab.end()) {
        out.push_back(PToken{it->second, std::string(s), 0, static_cast<uint32_t>(s.size())});
        return;
      }
    }
    Shard& shard = (*cache)[std::hash<std::string_view>{}(s) % kShards];
    {
      std::shared_lock lock(shard.m);
      auto it = shard.map.find(s);
      if (it != shard.map.end()) {
        emit(it->second, out);
        return;
      }
    }
    thread_local std::vector<Sym> syms;
    merge_word(s, syms);
    emit(syms, out);
    if (s.size() < kMaxCachedLen) {
      std::unique_lock lock(shard.m);
      if (shard.map.size() < kShardCapacity) shard.map.emplace(std::string(s), syms);
    }
  }
};

std::unique_ptr<Model> make_bpe(const json& model, const std::string& path) {
  auto m = std::make_unique<BPEModel>();
  read_vocab_object(model, path, m->vocab, m->rev, m->has);
  const std::string w = "model.";
  if (const json* u = jmember(model, "unk_token"); u && !u->is_null()) {
    m->unk = jstr(model, "unk_token", "", path, w);
    auto it = m->vocab.find(*m->unk);
    if (it != m->vocab.end()) m->unk_id = it->second;
  }
  m->prefix = jstr(model, "continuing_subword_prefix", "", path, w);
  m->suffix = jstr(model, "end_of_word_suffix", "", path, w);
  m->fuse_unk = jbool(model, "fuse_unk", false, path, w);
  m->byte_fallback = jbool(model, "byte_fallback", false, path, w);
  m->ignore_merges = jbool(model, "ignore_merges", false, path, w);
  for (int b = 0; b < 256; ++b) {
    char code[8];
    std::snprintf(code, sizeof code, "<0x%02X>", b);
    auto it = m->vocab.find(std::string_view(code));
    m->byte_ids[b] = it == m->vocab.end() ? -1 : static_cast<int32_t>(it->second);
  }
  const json* merges = jmember(model, "merges");
  if (!merges || !merges->is_array()) throw FormatError(cat(path, ": field 'model.merges' must be an array"));
  m->merges.reserve(merges->size() * 2);
  const size_t plen = m->prefix.size();
  uint32_t rank = 0;
  for (const auto& e : *merges) {
    std::string a, b;
    if (e.is_string()) {
      const std::string& s = e.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        throw FormatError(cat(path, ": field 'model.merges[", rank, "]' must be \"a b\" (two tokens), got \"", s, "\""));
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      throw FormatError(cat(path, ": field 'model.merges[", rank, "]' must be \"a b\" or [\"a\", \"b\"]"));
    }
    auto ia = m->vocab.find(a), ib = m->vocab.find(b);
    if (ia == m->vocab.end() || ib == m->vocab.end())
      throw FormatError(cat(path, ": field 'model.merges[", rank, "]': token '", ia == m->vocab.end() ? a : b,
                            "' is not in the vocabulary"));
    std::string merged = a + (b.size() >= plen ? b.substr(plen) : b);
    auto im = m->vocab.find(merged);
    if (im == m->vocab.end())
      throw FormatError(cat(path, ": field 'model.merges[", rank, "]': the merged token '", merged,
                            "' is not in the vocabulary"));
    m->merges.try_emplace(BPEModel::key(static_cast<uint32_t>(ia->second), static_cast<uint32_t>(ib->second)), rank,
                          static_cast<uint32_t>(im->second));
    ++rank;
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
/// Byte trie over the pieces: common-prefix search in increasing length.
struct PieceTrie {
  struct Node {
    uint32_t first = 0, count = 0;
    int32_t value = -1;
  };
  struct Edge {
    uint8_t byte;
    uint32_t child;
  };
  std::vector<Node> nodes;
  std::vector<Edge> edges;

  void build(std::vector<std::pair<std::string, int32_t>> pieces) {
    std::sort(pieces.begin(), pieces.end());
    pieces.erase(std::unique(pieces.begin(), pieces.end(),
                             [](const auto& x, const auto& y) { return x.first == y.first; }),
                 pieces.end());
    nodes.assign(1, Node{});
    edges.clear();
    build_node(0, pieces, 0, pieces.size(), 0);
  }
  void build_node(uint32_t node, const std::vector<std::pair<std::string, int32_t>>& p, size_t lo, size_t hi,
                  size_t depth) {
    if (lo < hi && p[lo].first.size() == depth) {
      nodes[node].value = p[lo].second;
      ++lo;
    }
    // children
    std::vector<std::pair<uint8_t, std::pair<size_t, size_t>>> groups;
    size_t k = lo;
    while (k < hi) {
      auto c = static_cast<uint8_t>(p[k].first[depth]);
      size_t e = k + 1;
      while (e < hi && static_cast<uint8_t>(p[e].first[depth]) == c) ++e;
      groups.push_back({c, {k, e}});
      k = e;
    }
    nodes[node].first = static_cast<uint32_t>(edges.size());
    nodes[node].count = static_cast<uint32_t>(groups.size());
    for (const auto& g : groups) {
      edges.push_back(Edge{g.first, static_cast<uint32_t>(nodes.size())});
      nodes.push_back(Node{});
    }
    for (size_t gi = 0; gi < groups.size(); ++gi)
      build_node(edges[nodes[node].first + gi].child, p, groups[gi].second.first, groups[gi].second.second, depth + 1);
  }
  int64_t child(uint32_t node, uint8_t b) const {
    const Node& n = nodes[node];
    const Edge* beg = edges.data() + n.first;
    const Edge* end = beg + n.count;
    const Edge* it = std::lower_bound(beg, end, b, [](const Edge& e, uint8_t x) { return e.byte < x; });
    return it != end && it->byte == b ? static_cast<int64_t>(it->child) : -1;
  }
};

struct UnigramModel final : Model {
  std::vector<std::string> pieces;
  std::vector<double> scores;
  TokenMap ids;
  int64_t unk_id = -1;
  bool byte_fallback = false;
  double min_score = 0;
  PieceTrie trie;
  std::array<int32_t, 256> byte_ids{};

  std::string type() const override { return "Unigram"; }
  int64_t size() const override { return static_cast<int64_t>(pieces.size()); }
  int64_t token_to_id(std::string_view t) const override {
    auto it = ids.find(t);
    return it == ids.end() ? -1 : it->second;
  }
  const std::string* id_to_token(int64_t id) const override {
    if (id < 0 || id >= static_cast<int64_t>(pieces.size())) return nullptr;
    return &pieces[id];
  }

  void tokenize(std::string_view s, std::vector<PToken>& out) const override {
    const size_t n = s.size();
    if (n == 0) return;
    struct Best {
      int64_t id = 0;
      double score = 0;
      int64_t start = -1;
    };
    thread_local std::vector<Best> best;
    best.assign(n + 1, Best{});
    const double unk_score = min_score - 10.0;
    size_t start = 0;
    while (start < n) {
      const double base = best[start].score;
      const size_t mblen = utf8_char_len(s.data(), n, start);
      bool single = false;
      uint32_t node = 0;
      for (size_t k = start; k < n; ++k) {
        int64_t c = trie.child(node, static_cast<uint8_t>(s[k]));
        if (c < 0) break;
        node = static_cast<uint32_t>(c);
        int32_t id = trie.nodes[node].value;
        if (id < 0) continue;
        size_t end = k + 1;
        Best& t = best[end];
        double cand = scores[id] + base;
        if (t.start < 0 || cand > t.score) {
          t.score = cand;
          t.start = static_cast<int64_t>(start);
          t.id = id;
        }
        if (!single && end - start == mblen) single = true;
      }
      if (!single) {
        if (unk_id < 0) throw DataError("Unigram: text needs the unknown token but the model has no unk_id");
        Best& t = best[start + mblen];
        double cand = unk_score + base;
        if (t.start < 0 || cand > t.score) {
          t.score = cand;
          t.start = static_cast<int64_t>(start);
          t.id = unk_id;
        }
      }
      start += mblen;
    }
    // Backtrack; consecutive unknowns are fused.
    thread_local std::vector<std::pair<size_t, size_t>> spans;  // (begin, end), reversed
    spans.clear();
    size_t end = n;
    size_t unk_end = 0;
    bool in_unk = false;
    while (end > 0) {
      const Best& b = best[end];
      size_t st = static_cast<size_t>(b.start);
      if (unk_id >= 0 && b.id == unk_id) {
        if (!in_unk) {
          in_unk = true;
          unk_end = end;
        }
      } else {
        if (in_unk) {
          spans.emplace_back(end, unk_end);
          in_unk = false;
        }
        spans.emplace_back(st, end);
      }
      end = st;
    }
    if (in_unk) spans.emplace_back(0, unk_end);
    for (size_t k = spans.size(); k-- > 0;) {
      auto [b, e] = spans[k];
      std::string_view piece = s.substr(b, e - b);
      auto it = ids.find(piece);
      if (it != ids.end()) {
        out.push_back(PToken{it->second, std::string(piece), static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
        continue;
      }
      if (byte_fallback) {
        bool all = true;
        for (char c : piece) all = all && byte_ids[static_cast<unsigned char>(c)] >= 0;
        if (all) {
          for (char c : piece) {
            int32_t id = byte_ids[static_cast<unsigned char>(c)];
            out.push_back(PToken{id, pieces[id], static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
          }
          continue;
        }
      }
      if (unk_id < 0) throw DataError("Unigram: text needs the unknown token but the model has no unk_id");
      out.push_back(PToken{unk_id, std::string(piece), static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
    }
  }
};

std::unique_ptr<Model> make_unigram(const json& model, const std::string& path) {
  auto m = std::make_unique<UnigramModel>();
  const json* v = jmember(model, "vocab");
  if (!v || !v->is_array()) throw FormatError(cat(path, ": field 'model.vocab' must be an array of [piece, score]"));
  m->pieces.reserve(v->size());
  m->scores.reserve(v->size());
  std::vector<std::pair<std::string, int32_t>> entries;
  entries.reserve(v->size());
  for (size_t k = 0; k < v->size(); ++k) {
    const json& e = (*v)[k];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      throw FormatError(cat(path, ": field 'model.vocab[", k, "]' must be [piece, score]"));
    m->pieces.push_back(e[0].get<std::string>());
    m->scores.push_back(e[1].get<double>());
    m->ids.try_emplace(m->pieces.back(), static_cast<int64_t>(k));
    if (!m->pieces.back().empty()) entries.emplace_back(m->pieces.back(), static_cast<int32_t>(k));
  }
  if (m->pieces.empty()) throw FormatError(cat(path, ": field 'model.vocab' is empty"));
  m->min_score = *std::min_element(m->scores.begin(), m->scores.end());
  if (const json* u = jmember(model, "unk_id"); u && !u->is_null()) {
    if (!u->is_number_integer() || u->get<int64_t>() < 0 || u->get<int64_t>() >= static_cast<int64_t>(m->pieces.size()))
      throw FormatError(cat(path, ": field 'model.unk_id' must be an id in the vocabulary, got ", u->dump()));
    m->unk_id = u->get<int64_t>();
  }
  m->byte_fallback = jbool(model, "byte_fallback", false, path, "model.");
  for (int b = 0; b < 256; ++b) {
    char code[8];
    std::snprintf(code, sizeof code, "<0x%02X>", b);
    auto it = m->ids.find(std::string_view(code));
    m->byte_ids[b] = it == m->ids.end() ? -1 : static_cast<int32_t>(it->second);
  }
  m->trie.build(std::move(entries));
  return m;
}

// ---------------------------------------------------------------------------------------------
struct WordPieceModel final : Model {
  TokenMap vocab;
  std::vector<std::string> rev;
  std::vector<uint8_t> has;
  std::string unk = "[UNK]", prefix = "##";
  int64_t max_chars = 100;
  std::string type() const override { return "WordPiece"; }
  int64_t size() const override { return static_cast<int64_t>(rev.size()); }
  int64_t token_to_id(std::string_view t) const override {
    auto it = vocab.find(t);
    return it == vocab.end() ? -1 : it->second;
  }
  const std::string* id_to_token(int64_t id) const override {
    if (id < 0 || id >= static_cast<int64_t>(rev.size()) || !has[id]) return nullptr;
    return &rev[id];
  }
  int64_t unk_id() const {
    auto it = vocab.find(unk);
    if (it == vocab.end()) throw DataError(cat("WordPiece: the unknown token '", unk, "' is not in the vocabulary"));
    return it->second;
  }
  void tokenize(std::string_view s, std::vector<PToken>& out) const override {
    size_t nchars = 0;
    for (size_t i = 0; i < s.size(); i += utf8_char_len(s.data(), s.size(), i)) ++nchars;
    auto whole_unk = [&] { out.push_back(PToken{unk_id(), unk, 0, static_cast<uint32_t>(s.size())}); };
    if (static_cast<int64_t>(nchars) > max_chars) return whole_unk();
    const size_t first = out.size();
    size_t start = 0;
    std::string buf;
    while (start < s.size()) {
      size_t end = s.size();
      int64_t id = -1;
      while (start < end) {
        std::string_view sub = s.substr(start, end - start);
        if (start > 0) {
          buf.assign(prefix).append(sub);
          sub = buf;
        }
        auto it = vocab.find(sub);
        if (it != vocab.end()) {
          id = it->second;
          break;
        }
        --end;
        while (end > start && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
      }
      if (id < 0) {
        out.resize(first);
        return whole_unk();
      }
      out.push_back(PToken{id, start > 0 ? prefix + std::string(s.substr(start, end - start)) : std::string(s.substr(0, end)),
                           static_cast<uint32_t>(start), static_cast<uint32_t>(end)});
      start = end;
    }
  }
};

struct WordLevelModel final : Model {
  TokenMap vocab;
  std::vector<std::string> rev;
  std::vector<uint8_t> has;
  std::string unk = "<unk>";
  std::string type() const override { return "WordLevel"; }
  int64_t size() const override { return static_cast<int64_t>(rev.size()); }
  int64_t token_to_id(std::string_view t) const override {
    auto it = vocab.find(t);
    return it == vocab.end() ? -1 : it->second;
  }
  const std::string* id_to_token(int64_t id) const override {
    if (id < 0 || id >= static_cast<int64_t>(rev.size()) || !has[id]) return nullptr;
    return &rev[id];
  }
  void tokenize(std::string_view s, std::vector<PToken>& out) const override {
    auto it = vocab.find(s);
    if (it != vocab.end()) {
      out.push_back(PToken{it->second, std::string(s), 0, static_cast<uint32_t>(s.size())});
      return;
    }
    auto u = vocab.find(unk);
    if (u == vocab.end()) throw DataError(cat("WordLevel: '", s, "' is not in the vocabulary and neither is the unknown token '", unk, "'"));
    out.push_back(PToken{u->second, unk, 0, static_cast<uint32_t>(s.size())});
  }
};

std::string model_type(const json& model) {
  if (const json* t = jmember(model, "type"); t && t->is_string()) return t->get<std::string>();
  if (jmember(model, "merges")) return "BPE";
  if (const json* v = jmember(model, "vocab"); v && v->is_array()) return "Unigram";
  if (jmember(model, "continuing_subword_prefix") || jmember(model, "max_input_chars_per_word")) return "WordPiece";
  if (jmember(model, "vocab")) return "WordLevel";
  return "unknown";
}

}  // namespace

std::unique_ptr<Model> make_model(const json& model, const std::string& path) {
  if (!model.is_object()) throw FormatError(cat(path, ": missing object field 'model'"));
  std::string t = model_type(model);
  if (t == "BPE") return make_bpe(model, path);
  if (t == "Unigram") return make_unigram(model, path);
  if (t == "WordPiece") {
    auto m = std::make_unique<WordPieceModel>();
    read_vocab_object(model, path, m->vocab, m->rev, m->has);
    m->unk = jstr(model, "unk_token", "[UNK]", path, "model.");
    m->prefix = jstr(model, "continuing_subword_prefix", "##", path, "model.");
    m->max_chars = jint(model, "max_input_chars_per_word", 100, path, "model.");
    return m;
  }
  if (t == "WordLevel") {
    auto m = std::make_unique<WordLevelModel>();
    read_vocab_object(model, path, m->vocab, m->rev, m->has);
    m->unk = jstr(model, "unk_token", "<unk>", path, "model.");
    return m;
  }
  throw FormatError(cat(path, ": model type '", t,
                        "' (field 'model.type') is not supported (graft reads BPE, Unigram, WordPiece, WordLevel)"));
}

}  // namespace graft::core::tok
