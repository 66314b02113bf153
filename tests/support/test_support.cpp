#include "test_support.h"

#include <graft/core/files.h>
#include <graft/error.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace graft::test {

std::string fixture(const std::string& rel) { return (fs::path(GRAFT_TEST_FIXTURES) / rel).string(); }

bool have_shared() { return std::string(GRAFT_SHARED_DIR).size() > 0 && fs::exists(GRAFT_SHARED_DIR); }

std::string shared(const std::string& rel) {
  if (!have_shared()) return {};
  return (fs::path(GRAFT_SHARED_DIR) / rel).string();
}

namespace {
struct TempRoot {
  fs::path root;
  TempRoot() {
    root = fs::path(GRAFT_BINARY_DIR) / "test-tmp" / cat("p", ::getpid());
    fs::create_directories(root);
  }
  ~TempRoot() {
    std::error_code ec;
    if (!std::getenv("GRAFT_KEEP_TEST_TMP")) fs::remove_all(root, ec);
  }
};
TempRoot& temp_root() {
  static TempRoot r;
  return r;
}
}  // namespace

std::string temp_dir(const std::string& name) {
  static std::atomic<int> n{0};
  fs::path p = temp_root().root / cat(name, "-", n++);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string plugin_dir() { return GRAFT_PLUGIN_BUILD_DIR; }

RunResult run_graft(const std::string& args) {
  std::string dir = temp_dir("run");
  std::string out = dir + "/stdout", err = dir + "/stderr";
  std::string cmd = cat("'", GRAFT_EXE, "' ", args, " >'", out, "' 2>'", err, "' </dev/null");
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  r.out = core::read_file(out);
  r.err = core::read_file(err);
  return r;
}

}  // namespace graft::test
