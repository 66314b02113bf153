#include "squad_metric.h"

#include <graft/error.h>

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>

namespace graft::plugins::question_answering {

namespace {

std::vector<int32_t> decode(const std::string& s) {
  std::vector<int32_t> out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid byte: keep it as U+FFFD and move on (never crash on odd input)
      cp = 0xFFFD;
      n = 1;
    }
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

std::string encode(const std::vector<int32_t>& cps) {
  std::string out;
  utf8proc_uint8_t buf[4];
  for (int32_t cp : cps) {
    utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  }
  return out;
}

/// Python str.isspace().
bool is_space(int32_t c) {
  if (c == 9 || c == 10 || c == 11 || c == 12 || c == 13 || (c >= 28 && c <= 31) || c == 32 || c == 0x85) return true;
  if (c < 128) return false;
  auto cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

/// Python re's \w for str patterns: alphanumeric (Unicode) or '_'.
bool is_word(int32_t c) {
  if (c == '_') return true;
  if (c < 128) return std::isalnum(c) != 0;
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_ascii_punct(int32_t c) { return c < 128 && std::ispunct(c) != 0; }

/// Python str.lower().
std::vector<int32_t> lower(const std::vector<int32_t>& in) {
  std::vector<int32_t> out;
  out.reserve(in.size());
  for (int32_t c : in) {
    if (c == 0x130) {  // 'İ'.lower() == 'i̇' (two code points)
      out.push_back('i');
      out.push_back(0x307);
    } else {
      out.push_back(utf8proc_tolower(c));
    }
  }
  return out;
}

std::vector<int32_t> remove_punc(const std::vector<int32_t>& in) {
  std::vector<int32_t> out;
  for (int32_t c : in)
    if (!is_ascii_punct(c)) out.push_back(c);
  return out;
}

/// re.sub(r'\b(a|an|the)\b', ' ', text)
std::vector<int32_t> remove_articles(const std::vector<int32_t>& t) {
  std::vector<int32_t> out;
  const size_t n = t.size();
  auto word_at = [&](size_t i) { return i < n && is_word(t[i]); };
  size_t i = 0;
  while (i < n) {
    bool boundary_before = i == 0 || !is_word(t[i - 1]);
    if (boundary_before && word_at(i)) {
      size_t len = 0;
      for (const char* art : {"a", "an", "the"}) {
        size_t k = 0;
        while (art[k] && i + k < n && t[i + k] == art[k]) ++k;
        if (art[k] == 0 && !word_at(i + k)) {
          len = k;
          break;
        }
      }
      if (len > 0) {
        out.push_back(' ');
        i += len;
        continue;
      }
    }
    out.push_back(t[i]);
    ++i;
  }
  return out;
}

std::vector<std::vector<int32_t>> split_cps(const std::vector<int32_t>& t) {
  std::vector<std::vector<int32_t>> out;
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && is_space(t[i])) ++i;
    if (i >= t.size()) break;
    size_t j = i;
    while (j < t.size() && !is_space(t[j])) ++j;
    out.emplace_back(t.begin() + static_cast<std::ptrdiff_t>(i), t.begin() + static_cast<std::ptrdiff_t>(j));
    i = j;
  }
  return out;
}

std::vector<int32_t> white_space_fix(const std::vector<int32_t>& t) {
  std::vector<int32_t> out;
  for (const auto& w : split_cps(t)) {
    if (!out.empty()) out.push_back(' ');
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

template <class T>
double bag_f1(const std::vector<T>& pred, const std::vector<T>& gold) {
  std::map<T, int64_t> cp, cg;
  for (const auto& x : pred) ++cp[x];
  for (const auto& x : gold) ++cg[x];
  int64_t same = 0;
  for (const auto& [k, v] : cp)
    if (auto it = cg.find(k); it != cg.end()) same += std::min(v, it->second);
  if (same == 0) return 0.0;
  double precision = 1.0 * static_cast<double>(same) / static_cast<double>(pred.size());
  double recall = 1.0 * static_cast<double>(same) / static_cast<double>(gold.size());
  return (2 * precision * recall) / (precision + recall);
}

std::string lowercase_ascii(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string normalize_answer(const std::string& s) {
  return encode(white_space_fix(remove_articles(remove_punc(lower(decode(s))))));
}

std::string normalize_answer_korquad(const std::string& s) {
  std::vector<int32_t> t = decode(s);
  for (auto& c : t)
    if (c == '\'' || c == '"' || c == 0x300A || c == 0x300B || c == '<' || c == '>' || c == 0x3008 || c == 0x3009 ||
        c == '(' || c == ')' || c == 0x2018 || c == 0x2019)
      c = ' ';
  return encode(white_space_fix(remove_punc(lower(t))));
}

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& w : split_cps(decode(s))) out.push_back(encode(w));
  return out;
}

double f1_v1(const std::string& pred, const std::string& gold) {
  return bag_f1(split_ws(normalize_answer(pred)), split_ws(normalize_answer(gold)));
}

double f1_v2(const std::string& pred, const std::string& gold) {
  auto p = split_ws(normalize_answer(pred)), g = split_ws(normalize_answer(gold));
  if (p.empty() || g.empty()) return p == g ? 1.0 : 0.0;
  return bag_f1(p, g);
}

double f1_korquad(const std::string& pred, const std::string& gold) {
  std::vector<int32_t> p, g;
  for (const auto& w : split_cps(decode(normalize_answer_korquad(pred)))) p.insert(p.end(), w.begin(), w.end());
  for (const auto& w : split_cps(decode(normalize_answer_korquad(gold)))) g.insert(g.end(), w.begin(), w.end());
  return bag_f1(p, g);
}

void SquadMetric::parse(const MetricInput& input, std::vector<QaGold>& gold, std::vector<QaPred>& pred) {
  GRAFT_CHECK(input.gold.size() == input.pred.size(), DataError, "metric 'squad': ", input.gold.size(),
              " questions but ", input.pred.size(), " predictions; they must pair up one to one");
  GRAFT_CHECK(!input.gold.empty(), DataError, "metric 'squad': no questions to score");
  gold.clear();
  pred.clear();
  for (size_t i = 0; i < input.gold.size(); ++i) {
    const Value& g = input.gold[i];
    QaGold qg;
    if (g.is_object()) {
      qg.id = g.get_string("id", std::to_string(i));
      const Value* a = g.find("answers");
      GRAFT_CHECK(a && a->is_array(), DataError, "metric 'squad': gold of question '", qg.id,
                  "' has no \"answers\" array");
      for (const auto& x : a->as_array()) {
        if (x.is_string()) qg.answers.push_back(x.as_string());
        else if (x.is_object() && x.find("text") && x.at("text").is_string()) qg.answers.push_back(x.at("text").as_string());
        else throw DataError(cat("metric 'squad': gold answer of question '", qg.id, "' must be a string or {\"text\": ...}"));
      }
    } else if (g.is_array()) {
      qg.id = std::to_string(i);
      for (const auto& x : g.as_array()) qg.answers.push_back(x.is_string() ? x.as_string() : std::string());
    } else {
      throw DataError(cat("metric 'squad': gold value ", i, " must be an object {\"id\", \"answers\"}, got ", g.type_name()));
    }
    qg.has_answer = !qg.answers.empty();
    gold.push_back(std::move(qg));

    const Value& p = input.pred[i];
    QaPred qp;
    if (p.is_string()) {
      qp.present = true;
      qp.text = p.as_string();
    } else if (p.is_object()) {
      qp.present = true;
      const Value* a = p.find("answer");
      qp.text = a && a->is_string() ? a->as_string() : std::string();
      if (const Value* na = p.find("no_answer_prob"); na && na->is_number()) qp.na_prob = na->as_double();
    } else if (!p.is_null()) {
      throw DataError(cat("metric 'squad': prediction for question '", gold.back().id,
                          "' must be an answer string, got ", p.type_name()));
    }
    pred.push_back(std::move(qp));
  }
}

std::string SquadMetric::flavor(const MetricInput& input) const {
  if (options_.flavor != "auto") return options_.flavor;
  bool any_unanswerable = false;
  for (const auto& g : input.gold) {
    if (!g.is_object()) continue;
    std::string v = lowercase_ascii(g.get_string("version", ""));
    if (v.find("korquad") != std::string::npos) return "korquad";
    if (v.rfind("v2", 0) == 0 || v.rfind("2.", 0) == 0) return "v2.0";
    if (v == "1.1" || v == "v1.1") return "v1.1";
    const Value* a = g.find("answers");
    if (a && a->is_array() && a->size() == 0) any_unanswerable = true;
  }
  return any_unanswerable ? "v2.0" : "v1.1";
}

Value SquadMetric::compute(const MetricInput& input) const {
  std::vector<QaGold> gold;
  std::vector<QaPred> pred;
  parse(input, gold, pred);
  const std::string fl = flavor(input);
  const size_t n = gold.size();
  Value out = Value::object();
  if (fl != "v2.0") {
    const bool kor = fl == "korquad";
    double em = 0, f1 = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!pred[i].present || gold[i].answers.empty()) continue;  // missing prediction: 0, still counted
      double best_em = 0, best_f1 = 0;
      for (const auto& a : gold[i].answers) {
        double e = kor ? (normalize_answer_korquad(pred[i].text) == normalize_answer_korquad(a))
                       : (normalize_answer(pred[i].text) == normalize_answer(a));
        best_em = std::max(best_em, e);
        best_f1 = std::max(best_f1, kor ? f1_korquad(pred[i].text, a) : f1_v1(pred[i].text, a));
      }
      em += best_em;
      f1 += best_f1;
    }
    out.set("exact_match", 100.0 * em / static_cast<double>(n));
    out.set("f1", 100.0 * f1 / static_cast<double>(n));
    return out;
  }
  // v2.0: raw scores, then the no-answer threshold, then the HasAns / NoAns splits
  std::vector<double> exact(n, 0.0), f1(n, 0.0);
  std::vector<bool> scored(n, false);
  bool all_na = true;
  for (size_t i = 0; i < n; ++i) {
    if (!pred[i].na_prob) all_na = false;
    if (!pred[i].present) continue;  // the official script skips a missing prediction
    scored[i] = true;
    std::vector<std::string> answers;
    for (const auto& a : gold[i].answers)
      if (!normalize_answer(a).empty()) answers.push_back(a);
    if (answers.empty()) answers.push_back("");
    for (const auto& a : answers) {
      exact[i] = std::max(exact[i], normalize_answer(a) == normalize_answer(pred[i].text) ? 1.0 : 0.0);
      f1[i] = std::max(f1[i], f1_v2(pred[i].text, a));
    }
  }
  auto na_of = [&](size_t i) { return pred[i].na_prob.value_or(0.0); };
  std::vector<double> ex_t = exact, f1_t = f1;
  for (size_t i = 0; i < n; ++i)
    if (scored[i] && na_of(i) > options_.na_prob_thresh) ex_t[i] = f1_t[i] = gold[i].has_answer ? 0.0 : 1.0;
  auto summarize = [&](const char* prefix, bool filter, bool want_has) {
    double se = 0, sf = 0;
    int64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      if (filter && gold[i].has_answer != want_has) continue;
      if (!filter && !scored[i]) continue;
      ++total;
      if (scored[i]) {
        se += ex_t[i];
        sf += f1_t[i];
      }
    }
    if (total == 0) return;
    out.set(cat(prefix, "exact"), 100.0 * se / static_cast<double>(total));
    out.set(cat(prefix, "f1"), 100.0 * sf / static_cast<double>(total));
    out.set(cat(prefix, "total"), total);
  };
  summarize("", false, false);
  summarize("HasAns_", true, true);
  summarize("NoAns_", true, false);
  if (all_na) {
    // find_all_best_thresh: walk the questions by ascending no-answer probability
    int64_t num_no_ans = 0, scored_n = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!gold[i].has_answer) ++num_no_ans;
      if (scored[i]) ++scored_n;
    }
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return na_of(a) < na_of(b); });
    for (int pass = 0; pass < 2; ++pass) {
      const auto& raw = pass == 0 ? exact : f1;
      double cur = static_cast<double>(num_no_ans), best = cur, best_thresh = 0.0;
      for (size_t i : order) {
        if (!scored[i]) continue;
        double diff = gold[i].has_answer ? raw[i] : (pred[i].text.empty() ? 0.0 : -1.0);
        cur += diff;
        if (cur > best) {
          best = cur;
          best_thresh = na_of(i);
        }
      }
      const char* name = pass == 0 ? "best_exact" : "best_f1";
      out.set(name, 100.0 * best / static_cast<double>(scored_n));
      out.set(cat(name, "_thresh"), best_thresh);
    }
  }
  return out;
}

std::string SquadMetric::report(const MetricInput& input) const {
  Value v = compute(input);
  std::string out = cat("SQuAD ", flavor(input), " evaluation of ", input.gold.size(), " questions:");
  for (const auto& [k, x] : v.as_object()) out += cat(" ", k, "=", x.dump_json());
  return out + "\n";
}

}  // namespace graft::plugins::question_answering
