#pragma once
// Inputs of `graft score` in the task-specific formats: conlleval-style files for seq_f1 and the
// official SQuAD evaluation files for squad.
#include <graft/metric.h>

#include <string>

namespace graft::cli {

/// A conlleval-style file: `token ... gold pred` per line (the last two columns; spaces or
/// tabs), a blank line between sentences, -DOCSTART- lines skipped. gold/pred = one tag array
/// per sentence. DataError naming file:line for a line with fewer than 2 columns.
MetricInput read_conll_score_file(const std::string& path);

/// The official SQuAD evaluation inputs: `gold` a SQuAD JSON file, `pred` {question id: answer}
/// and optionally `na_prob` {question id: probability} (v2.0). One gold object per question
/// ({"id", "answers", "version"}), the prediction string (null when missing).
MetricInput read_squad_score_files(const std::string& gold, const std::string& pred, const std::string& na_prob);

/// True when the file's first non-blank byte is '{' (a JSON document rather than one value per line).
bool looks_like_json_document(const std::string& path);

}  // namespace graft::cli
