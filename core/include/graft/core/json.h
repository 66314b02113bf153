#pragma once
// JSON ↔ graft::Value (nlohmann::json underneath; kept out of every header).
#include <graft/value.h>

#include <string>

namespace graft::core {

/// Parses JSON text. `source` names the input in errors (a file path). Objects keep key order.
/// Throws FormatError "<source>: invalid JSON at line L, column C: ..." on bad input.
Value parse_json(const std::string& text, const std::string& source);
/// Reads and parses a file; FormatError names the file when missing/unreadable/invalid.
Value read_json_file(const std::string& path);
/// Writes `v` pretty-printed (indent 2) atomically (temp file + rename).
void write_json_file(const std::string& path, const Value& v);

}  // namespace graft::core
