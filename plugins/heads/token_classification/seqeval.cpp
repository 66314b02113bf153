#include "seqeval.h"

#include <graft/error.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace graft::plugins::token_classification {

namespace {

/// Prefix letter and type of a tag in seqeval's default mode: "B-PER" → ('B', "PER"), "O" → ('O', "_").
std::pair<char, std::string> split_default(const std::string& tag) {
  char prefix = tag.empty() ? 'O' : tag[0];
  std::string rest = tag.size() > 1 ? tag.substr(1) : std::string();
  size_t dash = rest.find('-');
  std::string type = dash == std::string::npos ? rest : rest.substr(dash + 1);
  if (type.empty()) type = "_";
  return {prefix, type};
}

bool end_of_chunk(char prev_tag, char tag, const std::string& prev_type, const std::string& type) {
  if (prev_tag == 'E' || prev_tag == 'S') return true;
  if (prev_tag == 'B' && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  if (prev_tag == 'I' && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  if (prev_tag != 'O' && prev_tag != '.' && prev_type != type) return true;
  return false;
}

bool start_of_chunk(char prev_tag, char tag, const std::string& prev_type, const std::string& type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev_tag == 'E' || prev_tag == 'S' || prev_tag == 'O') && (tag == 'E' || tag == 'I')) return true;
  if (tag != 'O' && tag != '.' && prev_type != type) return true;
  return false;
}

double divide(double num, double den) { return den == 0.0 ? 0.0 : num / den; }

double f1_of(double p, double r) {
  double den = p + r;
  return den == 0.0 ? 0.0 : 2.0 * p * r / den;
}

size_t width_of(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string right(const std::string& s, size_t w) { return width_of(s) >= w ? s : std::string(w - width_of(s), ' ') + s; }

std::string fixed(double v, int digits, size_t w) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%*.*f", static_cast<int>(w), digits, v);
  return buf;
}

}  // namespace

std::vector<Chunk> default_chunks(const TagSequences& sentences) {
  std::vector<std::string> seq;
  for (const auto& s : sentences) {
    seq.insert(seq.end(), s.begin(), s.end());
    seq.push_back("O");
  }
  seq.push_back("O");
  std::vector<Chunk> chunks;
  char prev_tag = 'O';
  std::string prev_type;
  int64_t begin = 0;
  for (size_t i = 0; i < seq.size(); ++i) {
    auto [tag, type] = split_default(seq[i]);
    if (end_of_chunk(prev_tag, tag, prev_type, type))
      chunks.push_back(Chunk{prev_type, begin, static_cast<int64_t>(i) - 1});
    if (start_of_chunk(prev_tag, tag, prev_type, type)) begin = static_cast<int64_t>(i);
    prev_tag = tag;
    prev_type = type;
  }
  return chunks;
}

std::vector<Chunk> strict_iob2_chunks(const TagSequences& sentences, const std::string& side) {
  std::vector<Chunk> chunks;
  int64_t base = 0;
  for (size_t si = 0; si < sentences.size(); ++si) {
    const auto& s = sentences[si];
    std::vector<char> prefix(s.size());
    std::vector<std::string> type(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const std::string& t = s[i];
      char p = t.empty() ? '?' : t[0];
      if (p != 'O' && p != 'B' && p != 'I')
        throw DataError(cat("seq_f1 (strict IOB2): ", side, " sentence ", si, " (0-based) token ", i, ": tag '", t,
                            "' is not O, B-X or I-X"));
      std::string rest = t.substr(1);
      size_t b = rest.find_first_not_of('-'), e = rest.find_last_not_of('-');
      type[i] = b == std::string::npos ? std::string("_") : rest.substr(b, e - b + 1);
      prefix[i] = p;
    }
    size_t i = 0;
    while (i < s.size()) {
      if (prefix[i] == 'B') {
        size_t j = i + 1;
        while (j < s.size() && prefix[j] == 'I' && type[j] == type[i]) ++j;
        chunks.push_back(Chunk{type[i], base + static_cast<int64_t>(i), base + static_cast<int64_t>(j) - 1});
        i = j;
      } else {
        ++i;
      }
    }
    base += static_cast<int64_t>(s.size()) + 1;  // the "O" default_chunks puts between sentences
  }
  return chunks;
}

SeqScores score_chunks(const std::vector<Chunk>& gold, const std::vector<Chunk>& pred) {
  std::map<std::string, std::set<std::pair<int64_t, int64_t>>> t, p;
  for (const auto& c : gold) t[c.type].insert({c.start, c.end});
  for (const auto& c : pred) p[c.type].insert({c.start, c.end});
  std::set<std::string> types;
  for (const auto& [k, _] : t) types.insert(k);
  for (const auto& [k, _] : p) types.insert(k);
  SeqScores out;
  int64_t tp_all = 0, pred_all = 0, true_all = 0;
  double sum_p = 0, sum_r = 0, sum_f = 0, wsum_p = 0, wsum_r = 0, wsum_f = 0;
  for (const auto& type : types) {
    const auto& ts = t[type];
    const auto& ps = p[type];
    int64_t tp = 0;
    for (const auto& x : ps) tp += ts.count(x);
    TypeScores s;
    s.true_positives = tp;
    s.predicted = static_cast<int64_t>(ps.size());
    s.support = static_cast<int64_t>(ts.size());
    s.precision = divide(static_cast<double>(tp), static_cast<double>(s.predicted));
    s.recall = divide(static_cast<double>(tp), static_cast<double>(s.support));
    s.f1 = f1_of(s.precision, s.recall);
    out.per_type[type] = s;
    tp_all += tp;
    pred_all += s.predicted;
    true_all += s.support;
    sum_p += s.precision;
    sum_r += s.recall;
    sum_f += s.f1;
    wsum_p += s.precision * static_cast<double>(s.support);
    wsum_r += s.recall * static_cast<double>(s.support);
    wsum_f += s.f1 * static_cast<double>(s.support);
  }
  out.micro.true_positives = tp_all;
  out.micro.predicted = pred_all;
  out.micro.support = true_all;
  out.micro.precision = divide(static_cast<double>(tp_all), static_cast<double>(pred_all));
  out.micro.recall = divide(static_cast<double>(tp_all), static_cast<double>(true_all));
  out.micro.f1 = f1_of(out.micro.precision, out.micro.recall);
  const double n = static_cast<double>(types.size());
  out.macro.support = out.weighted.support = true_all;
  out.macro.precision = divide(sum_p, n);
  out.macro.recall = divide(sum_r, n);
  out.macro.f1 = divide(sum_f, n);
  out.weighted.precision = divide(wsum_p, static_cast<double>(true_all));
  out.weighted.recall = divide(wsum_r, static_cast<double>(true_all));
  out.weighted.f1 = divide(wsum_f, static_cast<double>(true_all));
  return out;
}

double token_accuracy(const TagSequences& gold, const TagSequences& pred) {
  int64_t n = 0, ok = 0;
  for (size_t i = 0; i < gold.size() && i < pred.size(); ++i)
    for (size_t j = 0; j < gold[i].size() && j < pred[i].size(); ++j) {
      ++n;
      ok += gold[i][j] == pred[i][j];
    }
  return divide(static_cast<double>(ok), static_cast<double>(n));
}

std::string report_text(const SeqScores& s, int digits) {
  const std::string last = "weighted avg";
  size_t w = std::max<size_t>(last.size(), static_cast<size_t>(digits));
  for (const auto& [name, _] : s.per_type) w = std::max(w, width_of(name));
  std::string out = right("", w) + " ";
  for (const char* h : {"precision", "recall", "f1-score", "support"}) out += " " + right(h, 9);
  out += "\n\n";
  auto row = [&](const std::string& name, const TypeScores& t) {
    out += right(name, w) + " ";
    out += " " + fixed(t.precision, digits, 9) + " " + fixed(t.recall, digits, 9) + " " + fixed(t.f1, digits, 9);
    out += " " + right(std::to_string(t.support), 9) + "\n";
  };
  for (const auto& [name, t] : s.per_type) row(name, t);
  out += "\n";
  row("micro avg", s.micro);
  row("macro avg", s.macro);
  row("weighted avg", s.weighted);
  return out;
}

std::vector<std::string> iob1_to_iob2(const std::vector<std::string>& tags) {
  std::vector<std::string> out = tags;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string& t = tags[i];
    if (t.size() < 2 || t[0] != 'I' || t[1] != '-') continue;
    const std::string type = t.substr(2);
    bool continues = false;
    if (i > 0) {
      const std::string& prev = tags[i - 1];
      continues = prev.size() >= 2 && (prev[0] == 'I' || prev[0] == 'B') && prev[1] == '-' && prev.substr(2) == type;
    }
    if (!continues) out[i] = "B-" + type;
  }
  return out;
}

void sequences_from_input(const MetricInput& input, const std::string& metric, TagSequences& gold,
                          TagSequences& pred) {
  GRAFT_CHECK(input.gold.size() == input.pred.size(), DataError, "metric '", metric, "': ", input.gold.size(),
              " gold sentences but ", input.pred.size(), " predicted ones; they must pair up one to one");
  GRAFT_CHECK(!input.gold.empty(), DataError, "metric '", metric, "': no sentences to score");
  auto read = [&](const Value& v, const char* side, size_t i) {
    GRAFT_CHECK(v.is_array(), DataError, "metric '", metric, "': ", side, " value ", i,
                " (0-based) must be an array of tags (one sentence), got ", v.type_name());
    std::vector<std::string> tags;
    for (const auto& t : v.as_array()) {
      GRAFT_CHECK(t.is_string(), DataError, "metric '", metric, "': ", side, " sentence ", i,
                  " holds a ", t.type_name(), "; expected tag strings");
      tags.push_back(t.as_string());
    }
    return tags;
  };
  gold.clear();
  pred.clear();
  for (size_t i = 0; i < input.gold.size(); ++i) {
    gold.push_back(read(input.gold[i], "gold", i));
    pred.push_back(read(input.pred[i], "predicted", i));
    GRAFT_CHECK(gold.back().size() == pred.back().size(), DataError, "metric '", metric, "': sentence ", i,
                " (0-based) has ", gold.back().size(), " gold tags but ", pred.back().size(), " predicted tags");
  }
}

SeqScores SeqF1Metric::scores(const TagSequences& gold, const TagSequences& pred) const {
  if (options_.mode == "strict")
    return score_chunks(strict_iob2_chunks(gold, "gold"), strict_iob2_chunks(pred, "predicted"));
  return score_chunks(default_chunks(gold), default_chunks(pred));
}

Value SeqF1Metric::compute(const MetricInput& input) const {
  TagSequences gold, pred;
  sequences_from_input(input, "seq_f1", gold, pred);
  SeqScores s = scores(gold, pred);
  Value out = Value::object();
  out.set(prefix_ + "_f1", s.micro.f1);
  out.set(prefix_ + "_precision", s.micro.precision);
  out.set(prefix_ + "_recall", s.micro.recall);
  out.set(prefix_ + "_f1_macro", s.macro.f1);
  out.set(prefix_ + "_f1_weighted", s.weighted.f1);
  out.set(prefix_ + "_accuracy", token_accuracy(gold, pred));
  Value per = Value::object();
  for (const auto& [type, t] : s.per_type) {
    Value o = Value::object();
    o.set("precision", t.precision);
    o.set("recall", t.recall);
    o.set("f1", t.f1);
    o.set("support", t.support);
    per.set(type, std::move(o));
  }
  out.set(prefix_ == "seq" ? std::string("per_type") : prefix_ + "_per_type", std::move(per));
  return out;
}

std::string SeqF1Metric::report(const MetricInput& input) const {
  TagSequences gold, pred;
  sequences_from_input(input, "seq_f1", gold, pred);
  return report_text(scores(gold, pred), 4);
}

}  // namespace graft::plugins::token_classification
