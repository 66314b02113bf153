// Encoding operations shared by every tokenizer: truncation with overflow windows, merging,
// HF TemplateProcessing, conversion to graft::Encoding (HF tokenizers 0.22 semantics).
#include "encoding_ops.h"

#include <graft/error.h>

#include <algorithm>

namespace graft::core::tok {

namespace {
template <class V>
void append(V& a, const V& b) {
  a.insert(a.end(), b.begin(), b.end());
}
}  // namespace

// Set the sequence id of every token, and of the overflowing parts (PostProcessor::process).
void set_sequence(Enc& e, int64_t seq) {
  std::fill(e.seq.begin(), e.seq.end(), seq);
  for (auto& o : e.overflowing) set_sequence(o, seq);
}

Enc slice(const Enc& e, size_t b, size_t s) {
  Enc o;
  o.ids.assign(e.ids.begin() + b, e.ids.begin() + s);
  o.type_ids.assign(e.type_ids.begin() + b, e.type_ids.begin() + s);
  o.words.assign(e.words.begin() + b, e.words.begin() + s);
  o.seq.assign(e.seq.begin() + b, e.seq.begin() + s);
  o.tokens.assign(e.tokens.begin() + b, e.tokens.begin() + s);
  o.offsets.assign(e.offsets.begin() + b, e.offsets.begin() + s);
  o.special.assign(e.special.begin() + b, e.special.begin() + s);
  return o;
}

// Encoding::truncate (tokenizers 0.22): the kept window becomes the encoding, the rest its
// overflowing parts; stride tokens are repeated between consecutive windows.
void truncate(Enc& e, size_t max_len, size_t stride, Direction dir) {
  size_t n = e.size();
  if (max_len >= n) return;
  if (max_len == 0) {
    Enc o = std::move(e);
    e = Enc{};
    e.overflowing.push_back(std::move(o));
    return;
  }
  if (stride >= max_len)
    throw TruncationError("StrideTooLarge",
                          cat("truncation refused: stride (", stride,
                              ") must be strictly less than the room left for the truncated sequence (", max_len,
                              " tokens after the other sequence and the special tokens); use a smaller stride or a "
                              "larger max_length"));
  size_t offset = max_len - stride;
  std::vector<std::pair<size_t, size_t>> parts;
  if (dir == Direction::right) {
    for (size_t start = 0; start < n; start += offset) {
      size_t stop = std::min(start + max_len, n);
      parts.emplace_back(start, stop);
      if (stop == n) break;
    }
  } else {
    bool end = false;
    for (size_t k = 0; k < n; k += offset) {
      size_t stop = (n - 1 - k) + 1;
      size_t start = stop < max_len ? 0 : stop - max_len;
      if (start < stop && !end) {
        end = start == 0;
        parts.emplace_back(start, stop);
      }
    }
  }
  Enc main = slice(e, parts[0].first, parts[0].second);
  for (size_t i = 1; i < parts.size(); ++i) main.overflowing.push_back(slice(e, parts[i].first, parts[i].second));
  e = std::move(main);
}

// Encoding::merge_with (growing_offsets = false), including the combination of overflowing parts.
void merge_with(Enc& self, const Enc& pair) {
  std::vector<Enc> overflowings;
  for (const auto& self_o : self.overflowing) {
    Enc n = self_o;
    merge_with(n, pair);
    overflowings.push_back(std::move(n));
    for (const auto& other_o : pair.overflowing) {
      Enc m = self_o;
      merge_with(m, other_o);
      overflowings.push_back(std::move(m));
    }
  }
  for (const auto& other_o : pair.overflowing) {
    Enc n = self;
    merge_with(n, other_o);
    overflowings.push_back(std::move(n));
  }
  append(self.ids, pair.ids);
  append(self.type_ids, pair.type_ids);
  append(self.words, pair.words);
  append(self.seq, pair.seq);
  append(self.tokens, pair.tokens);
  append(self.offsets, pair.offsets);
  append(self.special, pair.special);
  self.overflowing = std::move(overflowings);
}

// truncate_encodings (tokenizers 0.22).
void truncate_encodings(Enc& a, Enc* b, size_t max_length, Truncation strategy, size_t stride, Direction dir) {
  if (max_length == 0) {
    truncate(a, 0, stride, dir);
    if (b) truncate(*b, 0, stride, dir);
    return;
  }
  size_t total = a.size() + (b ? b->size() : 0);
  if (total <= max_length) return;
  size_t to_remove = total - max_length;
  if (strategy == Truncation::longest_first) {
    if (b) {
      size_t n1 = a.size(), n2 = b->size();
      bool swap = false;
      if (n1 > n2) {
        swap = true;
        std::swap(n1, n2);
      }
      if (n1 > max_length)
        n2 = n1;
      else
        n2 = std::max(n1, max_length - n1);
      if (n1 + n2 > max_length) {
        n1 = max_length / 2;
        n2 = n1 + max_length % 2;
      }
      if (swap) std::swap(n1, n2);
      truncate(a, n1, stride, dir);
      truncate(*b, n2, stride, dir);
    } else {
      truncate(a, total - to_remove, stride, dir);
    }
    return;
  }
  Enc* target = &a;
  if (strategy == Truncation::only_second) {
    if (!b)
      throw TruncationError("SecondSequenceNotProvided",
                            "truncation refused: strategy only_second needs a pair (second sequence)");
    target = b;
  }
  size_t len = target->size();
  if (len > to_remove) {
    truncate(*target, len - to_remove, stride, dir);
  } else {
    throw TruncationError(
        "SequenceTooShort",
        cat("truncation refused: the ", strategy == Truncation::only_first ? "first" : "second", " sequence (", len,
            " tokens) is too short to remove the ", to_remove, " tokens needed to respect max_length"));
  }
}

Encoding to_encoding(Enc&& e) {
  Encoding out;
  out.ids = std::move(e.ids);
  out.type_ids = std::move(e.type_ids);
  out.tokens = std::move(e.tokens);
  out.offsets = std::move(e.offsets);
  out.word_ids = std::move(e.words);
  out.sequence_ids = std::move(e.seq);
  out.special_tokens_mask = std::move(e.special);
  return out;
}


void Enc::reserve(size_t n) {
  ids.reserve(n);
  type_ids.reserve(n);
  words.reserve(n);
  seq.reserve(n);
  tokens.reserve(n);
  offsets.reserve(n);
  special.reserve(n);
}

void Enc::push(int64_t id, std::string token, int64_t b, int64_t e, int64_t word, int64_t type_id) {
  ids.push_back(id);
  type_ids.push_back(type_id);
  words.push_back(word);
  seq.push_back(-1);
  tokens.push_back(std::move(token));
  offsets.emplace_back(b, e);
  special.push_back(0);
}

Enc apply_template(Enc a, std::optional<Enc> b, const EncodeOptions& o, const PostTemplate& t) {
  if (o.truncation != Truncation::none && o.max_length > 0) {
    if (o.stride < 0) throw ConfigError(cat("truncation stride must be >= 0, got ", o.stride));
    int64_t n_added = o.add_special_tokens && t.enabled ? t.num_added(b.has_value()) : 0;
    if (o.max_length < n_added)
      throw TruncationError("SequenceTooShort", cat("truncation refused: max_length ", o.max_length,
                                                    " is smaller than the ", n_added, " special tokens"));
    truncate_encodings(a, b ? &*b : nullptr, static_cast<size_t>(o.max_length - n_added), o.truncation,
                       static_cast<size_t>(o.stride), o.direction);
  }
  set_sequence(a, 0);
  if (b) set_sequence(*b, 1);
  Enc result;
  result.reserve(a.size() + (b ? b->size() : 0) + static_cast<size_t>(t.num_added(b.has_value())));
  if (!t.enabled) {
    merge_with(result, a);
    if (b) merge_with(result, *b);
    return result;
  }
  for (const auto& p : b ? t.pair : t.single) {
    if (p.is_sequence) {
      if (p.sequence == 1 && !b) continue;
      Enc& src = p.sequence == 0 ? a : *b;
      std::fill(src.type_ids.begin(), src.type_ids.end(), p.type_id);
      std::fill(src.seq.begin(), src.seq.end(), p.sequence);
      merge_with(result, src);
    } else if (o.add_special_tokens) {
      const TemplateSpecial* sp = nullptr;
      for (const auto& s : t.special_tokens)
        if (s.id == p.special) sp = &s;
      if (!sp) throw FormatError(cat("post-processor template names special token '", p.special,
                                     "' which its special_tokens do not define"));
      Enc e;
      for (size_t k = 0; k < sp->ids.size(); ++k) {
        e.ids.push_back(sp->ids[k]);
        e.type_ids.push_back(p.type_id);
        e.words.push_back(-1);
        e.seq.push_back(-1);
        e.tokens.push_back(sp->tokens[k]);
        e.offsets.emplace_back(0, 0);
        e.special.push_back(1);
      }
      merge_with(result, e);
    }
  }
  return result;
}

int64_t PostTemplate::num_added(bool with_pair) const {
  if (!enabled) return 0;
  int64_t n = 0;
  for (const auto& p : with_pair ? pair : single) {
    if (p.is_sequence) continue;
    for (const auto& s : special_tokens)
      if (s.id == p.special) n += static_cast<int64_t>(s.ids.size());
  }
  return n;
}

std::vector<Encoding> finish(Enc e, bool return_overflowing) {
  std::vector<Encoding> out;
  std::vector<Enc> overflow = std::move(e.overflowing);
  out.push_back(to_encoding(std::move(e)));
  if (return_overflowing)
    for (auto& o : overflow) out.push_back(to_encoding(std::move(o)));
  return out;
}

}  // namespace graft::core::tok
