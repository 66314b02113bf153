#pragma once
// File helpers: whole-file reads with clear errors, atomic writes, UTF-8 validation.
#include <cstdint>
#include <string>
#include <string_view>

namespace graft::core {

/// Reads a whole file. DataError "<path>: no such file" / "cannot be read".
std::string read_file(const std::string& path);
/// Writes via "<path>.tmp-<pid>" + fsync + rename, so readers never see half a file.
void write_file_atomic(const std::string& path, std::string_view content);
/// Returns the byte offset of the first invalid UTF-8 sequence, or -1 when `s` is valid UTF-8.
int64_t find_invalid_utf8(std::string_view s);
/// Resolves `path` against `base_dir` unless absolute or base_dir empty.
std::string resolve_path(const std::string& base_dir, const std::string& path);
/// A fresh directory "<parent>/.<name>.tmp-<pid>-<n>" to build into, then `commit_dir` renames
/// it over `final_dir` (replacing an existing one), giving atomic model/checkpoint writes.
std::string make_temp_dir_for(const std::string& final_dir);
void commit_dir(const std::string& temp_dir, const std::string& final_dir);

}  // namespace graft::core
