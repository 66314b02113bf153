#pragma once
// Entity-level sequence-labelling metrics with seqeval 1.2.2 semantics: the default
// (conlleval-compatible) chunking and the strict IOB2 mode, per-type scores and the
// classification report text.
#include <graft/metric.h>
#include <graft/options.h>
#include <graft/registrar.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace graft::plugins::token_classification {

using TagSequences = std::vector<std::vector<std::string>>;

/// One entity: type and inclusive token span [start, end] over the concatenated sentences.
struct Chunk {
  std::string type;
  int64_t start = 0, end = 0;
  bool operator<(const Chunk& o) const { return std::tie(type, start, end) < std::tie(o.type, o.start, o.end); }
  bool operator==(const Chunk& o) const { return type == o.type && start == o.start && end == o.end; }
};

/// seqeval.metrics.sequence_labeling.get_entities: sentences are joined with an "O" between
/// them; a chunk starts at B-X, at I-X after O or after another type, and ends before O, B-
/// or a type change (the IOBES rules are honoured too). The type is the text after the first
/// '-' ("B-LOCderiv" → "LOCderiv"; a tag without '-' has type "_").
std::vector<Chunk> default_chunks(const TagSequences& sentences);
/// seqeval strict mode, scheme IOB2: an entity starts with B-X and continues with I-X. Offsets
/// use the same concatenation as default_chunks. DataError for a tag that is not O, B-X or I-X.
std::vector<Chunk> strict_iob2_chunks(const TagSequences& sentences, const std::string& side);

struct TypeScores {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;
  int64_t true_positives = 0, predicted = 0;
};

/// Scores of one mode: per type (sorted by name) + micro/macro/weighted averages.
struct SeqScores {
  std::map<std::string, TypeScores> per_type;
  TypeScores micro;
  TypeScores macro;
  TypeScores weighted;
};

SeqScores score_chunks(const std::vector<Chunk>& gold, const std::vector<Chunk>& pred);
/// Token accuracy (seqeval accuracy_score).
double token_accuracy(const TagSequences& gold, const TagSequences& pred);
/// seqeval classification_report(..., digits) text.
std::string report_text(const SeqScores& s, int digits = 4);
/// Rewrites IOB1 tags as IOB2 (an I-X that does not continue an X entity becomes B-X).
std::vector<std::string> iob1_to_iob2(const std::vector<std::string>& tags);

/// MetricInput (gold/pred = arrays of tag arrays, one per sentence) → tag sequences; DataError
/// when shapes differ.
void sequences_from_input(const MetricInput& input, const std::string& metric, TagSequences& gold, TagSequences& pred);

struct SeqF1Options {
  std::string mode = "default";
  void visit(OptionVisitor& v) {
    v.optional("mode", mode,
               "\"default\": seqeval's conlleval-compatible chunking (I-X after O starts an entity); \"strict\": "
               "seqeval mode='strict' with scheme IOB2 (entities must start with B-X)",
               one_of({"default", "strict"}));
  }
};

/// seq_f1 (FARM's name): {"seq_f1": micro F1, "seq_precision", "seq_recall", "seq_f1_macro",
/// "seq_f1_weighted", "seq_accuracy", "per_type": {...}}; report() = the seqeval report.
class SeqF1Metric : public Metric {
 public:
  explicit SeqF1Metric(const SeqF1Options& options, std::string prefix = "seq")
      : options_(options), prefix_(std::move(prefix)) {}
  Value compute(const MetricInput& input) const override;
  std::string report(const MetricInput& input) const override;
  SeqScores scores(const TagSequences& gold, const TagSequences& pred) const;

 private:
  SeqF1Options options_;
  std::string prefix_;  ///< key prefix: "seq" → seq_f1, seq_precision, ...
};

/// seq_f1_strict: seqeval's strict IOB2 mode under its own keys (seq_strict_f1, ...), so a recipe
/// or `graft score` can report both modes side by side.
class SeqF1StrictMetric : public SeqF1Metric {
 public:
  explicit SeqF1StrictMetric(const NoOptions& = {}) : SeqF1Metric(SeqF1Options{"strict"}, "seq_strict") {}
};

}  // namespace graft::plugins::token_classification
