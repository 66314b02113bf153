#pragma once
// The official SQuAD evaluation: v1.1 (evaluate-v1.1.py), v2.0 (FARM's copy of the official
// script: HasAns/NoAns splits, no-answer probability threshold, best-threshold search) and
// KorQuAD v1.0 (character-level F1).
#include <graft/metric.h>
#include <graft/options.h>

#include <optional>
#include <string>
#include <vector>

namespace graft::plugins::question_answering {

/// SQuAD normalize_answer: lower-case, drop ASCII punctuation, drop the words a/an/the,
/// collapse whitespace (Python str semantics: Unicode lower-casing, \b and split()).
std::string normalize_answer(const std::string& s);
/// KorQuAD v1.0 normalize_answer (quotes/brackets → space, lower, punctuation, whitespace).
std::string normalize_answer_korquad(const std::string& s);
/// Whitespace tokens (Python str.split()).
std::vector<std::string> split_ws(const std::string& s);

double f1_v1(const std::string& pred, const std::string& gold);
double f1_v2(const std::string& pred, const std::string& gold);
double f1_korquad(const std::string& pred, const std::string& gold);

/// One question as the metric sees it.
struct QaGold {
  std::string id;
  std::vector<std::string> answers;  ///< gold answer texts
  bool has_answer = true;            ///< v2: false for unanswerable questions
};
struct QaPred {
  bool present = false;       ///< false = no prediction for this question
  std::string text;
  std::optional<double> na_prob;  ///< no-answer probability (v2 threshold search)
};

struct SquadOptions {
  std::string flavor = "auto";
  double na_prob_thresh = 1.0;
  void visit(OptionVisitor& v) {
    v.optional("flavor", flavor,
               "evaluation script: \"v1.1\", \"v2.0\", \"korquad\" or \"auto\" (from the data's version field: "
               "\"v2.0\"/unanswerable questions → v2.0, \"KorQuAD…\" → korquad, else v1.1)",
               one_of({"auto", "v1.1", "v2.0", "korquad"}));
    v.optional("na_prob_thresh", na_prob_thresh,
               "v2.0: a question whose no-answer probability exceeds this is scored as answered with \"\"",
               in_range(0.0, 1.0));
  }
};

/// `squad`: gold values are objects {"id", "answers": [texts], "is_impossible", "version"};
/// predictions are answer strings, null (missing) or {"answer", "no_answer_prob"}.
/// v1.1/korquad → {"exact_match", "f1"}; v2.0 → {"exact", "f1", "total", "HasAns_*", "NoAns_*"
/// [, "best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"]}; all in percent.
class SquadMetric : public Metric {
 public:
  explicit SquadMetric(const SquadOptions& options) : options_(options) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;
  /// The flavour used for `input` ("v1.1", "v2.0", "korquad").
  std::string flavor(const MetricInput& input) const;
  static void parse(const MetricInput& input, std::vector<QaGold>& gold, std::vector<QaPred>& pred);

 private:
  SquadOptions options_;
};

}  // namespace graft::plugins::question_answering
