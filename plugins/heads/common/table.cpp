#include "table.h"

#include <graft/error.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace graft::plugins::common {

namespace fs = std::filesystem;
using text_classification::DelimitedFormat;
using text_classification::DelimitedRecord;

namespace {

std::string shown(char c) {
  if (c == '\t') return "'\\t' (tab)";
  return cat("'", c, "'");
}

bool ends_with_csv(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".csv";
}

}  // namespace

void TableOptions::visit(OptionVisitor& v) {
  v.optional("delimiter", delimiter,
             "field separator, one character; empty = tab, or ',' for files whose name ends in .csv");
  v.optional("quote_char", quote_char,
             "quote character (RFC 4180: quoted fields may hold delimiters, newlines and doubled quotes); "
             "empty = no quoting (e.g. GLUE STS-B, whose sentences contain unbalanced quotes)");
  v.optional("column_names", column_names,
             "names of the columns of a file that has no header row (e.g. GoEmotions: [\"text\", \"labels\", "
             "\"id\"]); empty = the first row is the header");
}

void TableOptions::check(Diagnostics& d) const {
  if (delimiter.size() > 1) d.error("delimiter", cat("must be a single character, got '", delimiter, "'"));
  if (quote_char.size() > 1) d.error("quote_char", cat("must be a single character or empty, got '", quote_char, "'"));
  if (delimiter.size() == 1 && quote_char == delimiter) d.error("quote_char", "must differ from the delimiter");
  if (delimiter == "\n" || delimiter == "\r" || quote_char == "\n" || quote_char == "\r")
    d.error("delimiter", "a line break cannot be a delimiter or quote character");
  std::set<std::string> seen;
  for (const auto& c : column_names) {
    if (c.empty()) d.error("column_names", "column names must not be empty");
    else if (!seen.insert(c).second) d.error("column_names", cat("column '", c, "' is named twice"));
  }
}

size_t Table::column(const std::string& name, const std::string& option) const {
  auto it = std::find(header.begin(), header.end(), name);
  if (it != header.end()) return static_cast<size_t>(it - header.begin());
  std::string where = header_line > 0 ? cat(file, ":", header_line, ": no column '", name, "' (option ", option,
                                            ") in the header row")
                                      : cat(file, ": no column '", name, "' (option ", option, ") in column_names");
  std::string hint;
  if (header.size() == 1)
    hint = cat(" (only one column was found with delimiter ", shown(delimiter), "; is the delimiter option right?)");
  throw DataError(cat(where, "; columns: ", join_quoted(header), hint));
}

Table read_table(const std::string& file, const TableOptions& options, std::vector<RecordProblem>& problems) {
  Table t;
  t.file = file;
  DelimitedFormat format;
  format.delimiter = options.delimiter.empty() ? (ends_with_csv(file) ? ',' : '\t') : options.delimiter[0];
  format.quoting = !options.quote_char.empty();
  if (format.quoting) format.quote = options.quote_char[0];
  t.delimiter = format.delimiter;
  auto records = text_classification::read_delimited_file(file, format);
  size_t first = 0;
  if (options.column_names.empty()) {
    GRAFT_CHECK(!records.empty(), DataError, file,
                ": the file is empty; expected a header row naming the columns and one record per line");
    const DelimitedRecord& h = records.front();
    GRAFT_CHECK(h.problem.empty(), DataError, file, ":", h.line, ": bad header row: ", h.problem);
    t.header = h.fields;
    t.header_line = h.line;
    first = 1;
  } else {
    t.header = options.column_names;
  }
  GRAFT_CHECK(records.size() > first, DataError, file, ": no records",
              first ? " after the header row" : "", "; expected one record per line");
  const size_t n = t.header.size();
  for (size_t r = first; r < records.size(); ++r) {
    DelimitedRecord& rec = records[r];
    SourceLocation loc{file, rec.line, 0};
    if (!rec.problem.empty()) {
      problems.push_back(RecordProblem{loc, rec.problem});
      continue;
    }
    if (rec.fields.size() != n) {
      problems.push_back(RecordProblem{
          loc, cat(rec.fields.size() < n ? "too few" : "too many", " fields: expected ", n,
                   options.column_names.empty() ? " as in the header" : " as in column_names", ", found ",
                   rec.fields.size(), " (delimiter ", shown(format.delimiter), ")")});
      continue;
    }
    t.rows.push_back(std::move(rec));
  }
  return t;
}

void sort_problems(std::vector<RecordProblem>& problems, size_t from) {
  if (from >= problems.size()) return;
  std::stable_sort(problems.begin() + static_cast<std::ptrdiff_t>(from), problems.end(),
                   [](const RecordProblem& a, const RecordProblem& b) { return a.loc.line < b.loc.line; });
}

std::string resolve_data_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || base_dir.empty() || fs::path(path).is_absolute()) return path;
  fs::path joined = fs::path(base_dir) / path;
  std::error_code ec;
  if (fs::exists(joined, ec) || !fs::exists(path, ec)) return joined.string();
  return path;
}

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string join_quoted(const std::vector<std::string>& items, size_t max_items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + ("'" + items[i] + "'");
  if (items.size() > max_items) out += cat(", ... (", items.size(), " in all)");
  return out;
}

std::vector<std::string> split_trimmed(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  if (is_blank(s)) return out;
  if (sep.empty()) {
    out.push_back(trim(s));
    return out;
  }
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(trim(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) break;
    start = pos + sep.size();
  }
  return out;
}

std::optional<double> parse_number(const std::string& s) {
  std::string t = trim(s);
  if (t.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::vector<std::string> read_lines(const std::string& path) {
  DelimitedFormat f;
  f.quoting = false;
  f.delimiter = '\t';
  auto records = text_classification::read_delimited_file(path, f);
  std::vector<std::string> out;
  for (const auto& r : records) {
    std::string line;
    for (size_t i = 0; i < r.fields.size(); ++i) line += (i ? "\t" : "") + r.fields[i];
    line = trim(line);
    if (!line.empty()) out.push_back(line);
  }
  GRAFT_CHECK(!out.empty(), DataError, path, ": no entries; expected one per line");
  return out;
}

}  // namespace graft::plugins::common
