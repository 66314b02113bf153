#pragma once
// A strict reader for delimiter-separated files (TSV/CSV) with RFC-4180 quoting:
// quoted fields may hold delimiters, newlines and doubled quotes; line numbers count every
// physical line (newlines inside quotes included); CRLF and LF both end a record; a UTF-8 BOM
// is stripped; blank lines are skipped. Only the SDK and the standard library are used.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace graft::plugins::text_classification {

struct DelimitedFormat {
  char delimiter = '\t';
  char quote = '"';
  bool quoting = true;  ///< false: the quote character has no special meaning
};

struct DelimitedRecord {
  int64_t line = 0;  ///< 1-based physical line where the record starts
  std::vector<std::string> fields;
  std::string problem;  ///< non-empty when the record is malformed (e.g. unterminated quote)
};

/// Returns the byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and
/// code points above U+10FFFF are invalid), or -1 when `s` is valid.
int64_t first_invalid_utf8(std::string_view s);

/// Parses `text` (already BOM-stripped and UTF-8 validated) into records. Never throws.
std::vector<DelimitedRecord> parse_delimited(std::string_view text, const DelimitedFormat& format);

/// Reads `path`, strips a BOM, validates UTF-8 and parses it. DataError "<path>: no such file",
/// "<path>:<line>: invalid UTF-8 ...".
std::vector<DelimitedRecord> read_delimited_file(const std::string& path, const DelimitedFormat& format);

}  // namespace graft::plugins::text_classification
