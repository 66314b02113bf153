#pragma once
// Shared by the multilabel, regression and ranking plugins (compiled into each; not a plugin
// itself): reading a delimited file (TSV/CSV, with a header row or with column names given in the
// recipe) into rows whose fields are found by column name, plus small parsing helpers.
#include "../text_classification/delimited_reader.h"

#include <graft/options.h>
#include <graft/processor.h>

#include <optional>
#include <string>
#include <vector>

namespace graft::plugins::common {

/// How a data file is laid out; embed it in a processor's Options and call visit() from there.
struct TableOptions {
  std::string delimiter;          ///< "" = tab, or ',' for *.csv
  std::string quote_char = "\"";  ///< "" = no quoting
  std::vector<std::string> column_names;  ///< names of the columns of a file WITHOUT header row

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

struct Table {
  std::string file;
  char delimiter = '\t';
  std::vector<std::string> header;  ///< column names (from the file or from column_names)
  int64_t header_line = 0;          ///< 0 when the names came from the recipe
  std::vector<text_classification::DelimitedRecord> rows;  ///< well-formed rows only

  /// Index of column `name`; DataError naming the file, the option and the columns found.
  size_t column(const std::string& name, const std::string& option) const;
};

/// Reads `file`. Malformed rows (bad quoting, wrong field count) go to `problems` with
/// file:line; file-level problems (missing, not UTF-8, empty) throw DataError.
Table read_table(const std::string& file, const TableOptions& options, std::vector<RecordProblem>& problems);

/// Orders problems[from..] by line (read_table reports malformed rows before the callers' row checks).
void sort_problems(std::vector<RecordProblem>& problems, size_t from);

/// `path` relative to `base_dir` (the recipe's directory / data root) unless absolute or only
/// found relative to the working directory.
std::string resolve_data_path(const std::string& base_dir, const std::string& path);

bool is_blank(const std::string& s);
std::string trim(const std::string& s);
/// "'a', 'b', ... (N in all)".
std::string join_quoted(const std::vector<std::string>& items, size_t max_items = 30);
/// Splits on `sep` (a string, may be several characters); items are trimmed; an all-blank
/// input gives no items; empty items in between are kept (as "").
std::vector<std::string> split_trimmed(const std::string& s, const std::string& sep);
/// The whole string as a finite number ("2.5", " 3 ", "1e-3"); nullopt otherwise.
std::optional<double> parse_number(const std::string& s);
/// One entry per non-empty line (trimmed), e.g. a labels.txt. DataError naming the file.
std::vector<std::string> read_lines(const std::string& path);

}  // namespace graft::plugins::common
