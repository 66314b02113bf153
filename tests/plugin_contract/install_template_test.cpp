// Installs graft into a temporary prefix, builds sdk/template OUT OF TREE against it (with its
// own unit test), and loads the result with the installed graft. Label: slow.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/error.h>

#include "test_support.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using graft::cat;

namespace {
struct Shell {
  int code;
  std::string out;
};
Shell sh(const std::string& cmd, const std::string& log) {
  int status = std::system(cat("(", cmd, ") >'", log, "' 2>&1 </dev/null").c_str());
  return Shell{WIFEXITED(status) ? WEXITSTATUS(status) : 128, graft::core::read_file(log)};
}
}  // namespace

TEST_CASE("install, build the template out of tree, load it with the installed graft") {
  const std::string root = graft::test::temp_dir("install");
  const std::string prefix = root + "/prefix", tbuild = root + "/template-build", log = root + "/log";
  const std::string build = GRAFT_BINARY_DIR;

  auto inst = sh(cat("cmake --install '", build, "' --prefix '", prefix, "'"), log);
  INFO(inst.out);
  REQUIRE(inst.code == 0);
  CHECK(fs::exists(prefix + "/bin/graft"));
  CHECK(fs::exists(prefix + "/include/graft/plugin.h"));
  CHECK(fs::exists(prefix + "/include/graft/version.h"));
  CHECK_FALSE(fs::exists(prefix + "/include/graft/core"));  // core headers stay private

  // the installed graft finds its libraries and plugins with no flags and no environment
  auto list = sh(cat("env -u GRAFT_PLUGIN_PATH -u LD_LIBRARY_PATH '", prefix, "/bin/graft' plugins list"), log);
  INFO(list.out);
  REQUIRE(list.code == 0);
  CHECK(list.out.find(fs::weakly_canonical(prefix).string()) != std::string::npos);
  CHECK(list.out.find(build + "/lib") == std::string::npos);  // nothing from the build tree

  auto conf = sh(cat("cmake -S '", GRAFT_SOURCE_DIR, "/sdk/template' -B '", tbuild, "' -G Ninja -DCMAKE_PREFIX_PATH='",
                     prefix, "' -DCMAKE_BUILD_TYPE=Release"),
                 log);
  INFO(conf.out);
  REQUIRE(conf.code == 0);
  auto bld = sh(cat("cmake --build '", tbuild, "' -j 2"), log);
  INFO(bld.out);
  REQUIRE(bld.code == 0);
  auto test = sh(cat("ctest --test-dir '", tbuild, "' --output-on-failure"), log);
  INFO(test.out);
  CHECK(test.code == 0);

  const std::string plugin = tbuild + "/plugins/libgraft_hello_metric.so";
  REQUIRE(fs::exists(plugin));
  auto loaded = sh(cat("'", prefix, "/bin/graft' plugins list --plugin-path '", tbuild, "/plugins'"), log);
  INFO(loaded.out);
  CHECK(loaded.code == 0);
  CHECK(loaded.out.find("  loaded   hello_metric 0.1.0  (bundle)  " + plugin + "\n") != std::string::npos);
  CHECK(loaded.out.find("provides: metric:exact_match") != std::string::npos);
  auto info = sh(cat("'", prefix, "/bin/graft' --plugin-path '", tbuild, "/plugins' plugins info em"), log);
  INFO(info.out);
  CHECK(info.code == 0);
  // the first line notes that the alias "em" resolved to exact_match
  CHECK(info.out.find("metric exact_match\n") != std::string::npos);
  CHECK(info.out.find("  key (string, default \"exact_match\")\n") != std::string::npos);
}
