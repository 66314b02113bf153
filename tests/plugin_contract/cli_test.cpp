// `graft plugins list|info` over the contract fixtures: loaded/skipped with reasons, options.
#include <doctest/doctest.h>

#include <graft/version.h>

#include "test_support.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace {
std::string good_only_dir() {
  static std::string dir = [] {
    std::string d = graft::test::temp_dir("cli-plugins");
    for (const char* id : {"contract_good", "contract_torch", "contract_no_entry"})
      fs::copy_file(std::string(CONTRACT_PLUGIN_DIR) + "/libgraft_" + id + ".so", d + "/libgraft_" + id + ".so");
    return d;
  }();
  return dir;
}
}  // namespace

TEST_CASE("plugins list shows loaded and skipped files with reasons") {
  std::string dir = good_only_dir();
  auto r = graft::test::run_graft("--log-level error plugins list --plugin-path '" + dir + "'");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("plugin search path:\n  " + dir + "\n", 0) == 0);
  CHECK(r.out.find("  loaded   contract_good 1.2.3  (bundle)  " + dir + "/libgraft_contract_good.so\n"
                   "           Contract fixture: a good plugin\n"
                   "           provides: metric:contract_count\n") != std::string::npos);
  CHECK(r.out.find("  skipped  " + dir + "/libgraft_contract_no_entry.so\n"
                   "           reason: plugin " + dir + "/libgraft_contract_no_entry.so has no graft_plugin_entry_v1 "
                   "symbol; was it built with GRAFT_PLUGIN(...)?\n") != std::string::npos);
  CHECK(r.out.find("  skipped  contract_torch " + dir + "/libgraft_contract_torch.so\n"
                   "           reason: plugin " + dir + "/libgraft_contract_torch.so was built with LibTorch 2.1.0 "
                   "but graft runs LibTorch " GRAFT_TORCH_VERSION "; plugins must use the same LibTorch build\n") !=
        std::string::npos);
}

TEST_CASE("plugins list shows everything, then fails on duplicate names") {
  auto r = graft::test::run_graft("--log-level error plugins list --plugin-path '" CONTRACT_PLUGIN_DIR "'");
  CHECK(r.exit_code == 4);
  CHECK(r.out.find("  loaded   contract_duplicate ") != std::string::npos);
  CHECK(r.err == "error: plugin " CONTRACT_PLUGIN_DIR "/libgraft_contract_good.so (contract_good): metric "
                 "'contract_count' is already provided by " CONTRACT_PLUGIN_DIR "/libgraft_contract_duplicate.so\n");
}

TEST_CASE("plugins info shows kind, plugin, summary and every option") {
  std::string dir = good_only_dir();
  auto r = graft::test::run_graft("--log-level error --plugin-path '" + dir + "' plugins info contract_cnt");
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "metric contract_count\n"
                 "  Counts gold values\n"
                 "  plugin: contract_good 1.2.3  " + dir + "/libgraft_contract_good.so\n"
                 "  aliases: contract_cnt\n"
                 "options:\n"
                 "  scale (integer, default 1)\n"
                 "      multiplies the count\n"
                 "      >= 1\n"
                 "  label (string, default \"count\")\n"
                 "      key of the result\n"
                 "      one of: count, n\n");
  auto missing = graft::test::run_graft("--log-level error --plugin-path '" + dir + "' plugins info contract_cuont");
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.rfind("error: no component named 'contract_cuont'; did you mean 'contract_count'? (known: ", 0) == 0);
}

TEST_CASE("plugins and recipe commands have --help and reject bad usage") {
  for (const char* cmd : {"plugins --help", "plugins list --help", "plugins info --help", "recipe --help",
                          "recipe check --help", "recipe docs --help"}) {
    auto r = graft::test::run_graft(cmd);
    INFO(cmd);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("usage: graft") != std::string::npos);
  }
  auto r = graft::test::run_graft("plugins frobnicate");
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("error: graft plugins: unknown subcommand 'frobnicate'\n", 0) == 0);
  auto r2 = graft::test::run_graft("recipe check");
  CHECK(r2.exit_code == 2);
  CHECK(r2.err.rfind("error: graft recipe check: missing RECIPE\n", 0) == 0);
}
