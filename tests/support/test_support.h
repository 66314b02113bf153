#pragma once
// Shared helpers for graft tests: fixture locations, temp dirs, running the CLI.
#include <graft/value.h>

#include <string>

namespace graft::test {

/// tests/fixtures/<rel> (always present in a clone).
std::string fixture(const std::string& rel);
/// ../shared/<rel> when the shared set is present, else "" (callers then use the local subset).
std::string shared(const std::string& rel);
bool have_shared();
/// A fresh empty directory under the build tree's test tmp dir; removed at process exit.
std::string temp_dir(const std::string& name);
/// Directory with the plugins built in this tree.
std::string plugin_dir();
/// Runs the graft executable with `args` (a shell-quoted string), capturing stdout+stderr.
struct RunResult {
  int exit_code = 0;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};
RunResult run_graft(const std::string& args);

}  // namespace graft::test
