// The plugin host refuses every malformed plugin with one exact message naming the file, and
// registers a good one under its id with its components attributed.
#include <doctest/doctest.h>

#include <graft/core/registry.h>
#include <graft/plugin_abi.h>
#include <graft/error.h>
#include <graft/version.h>

#include "test_support.h"

#include <filesystem>

using graft::core::Registry;

namespace {
std::string fixture_plugin(const std::string& id) {
  return std::string(CONTRACT_PLUGIN_DIR) + "/libgraft_" + id + ".so";
}
std::string load_error(Registry& r, const std::string& id) {
  try {
    r.load_plugin(fixture_plugin(id));
  } catch (const graft::PluginError& e) {
    return e.what();
  }
  return "(loaded without error)";
}
const graft::core::PluginRecord* record(const Registry& r, const std::string& file) {
  for (const auto& rec : r.plugins())
    if (rec.file == file) return &rec;
  return nullptr;
}
}  // namespace

TEST_CASE("a good plugin registers its components under its id") {
  Registry r;
  r.load_plugin(fixture_plugin("contract_good"));
  const auto& m = r.metric("contract_count");
  CHECK(m.plugin_id == "contract_good");
  CHECK(m.plugin_file == fixture_plugin("contract_good"));
  CHECK(m.entry.summary == "Counts gold values");
  // the alias resolves to the same entry
  CHECK(&r.metric("contract_cnt") == &m);
  // the factory works across the boundary
  auto opts = m.entry.make_options();
  auto metric = m.entry.make(*opts, graft::MetricContext{});
  graft::MetricInput in;
  in.gold = {graft::Value(1), graft::Value(2)};
  CHECK(metric->compute(in).dump_json() == R"({"count":2})");

  const auto* rec = record(r, fixture_plugin("contract_good"));
  REQUIRE(rec);
  CHECK(rec->loaded);
  CHECK(rec->id == "contract_good");
  CHECK(rec->version == "1.2.3");
  CHECK(rec->kind == "bundle");
  CHECK(rec->summary == "Contract fixture: a good plugin");
  CHECK(rec->components == std::vector<std::string>{"metric:contract_count"});
  CHECK(r.names(graft::ComponentKind::metric) == std::vector<std::string>{"contract_count"});
}

TEST_CASE("a shared object without the entry symbol is refused") {
  Registry r;
  CHECK(load_error(r, "contract_no_entry") ==
        "plugin " + fixture_plugin("contract_no_entry") +
            " has no graft_plugin_entry_v1 symbol; was it built with GRAFT_PLUGIN(...)?");
  const auto* rec = record(r, fixture_plugin("contract_no_entry"));
  REQUIRE(rec);
  CHECK_FALSE(rec->loaded);
  CHECK(rec->reason == load_error(r, "contract_no_entry"));
}

TEST_CASE("descriptor checks name both versions and the file") {
  Registry r;
  const std::string sdk_mm = std::to_string(GRAFT_VERSION_MAJOR) + "." + std::to_string(GRAFT_VERSION_MINOR);
  CHECK(load_error(r, "contract_abi2") == "plugin " + fixture_plugin("contract_abi2") +
                                              " was built for plugin ABI v2 but this graft speaks v1; "
                                              "rebuild it against graft SDK " + sdk_mm);
  CHECK(load_error(r, "contract_size") ==
        "plugin " + fixture_plugin("contract_size") + " has a descriptor of 24 bytes but plugin ABI v1 defines " +
            std::to_string(sizeof(graft_plugin_descriptor)) + "; rebuild it against graft SDK " + sdk_mm);
  CHECK(load_error(r, "contract_torch") == "plugin " + fixture_plugin("contract_torch") +
                                               " was built with LibTorch 2.1.0 but graft runs LibTorch " +
                                               GRAFT_TORCH_VERSION + "; plugins must use the same LibTorch build");
  CHECK(load_error(r, "contract_sdk") == "plugin " + fixture_plugin("contract_sdk") +
                                             " was built with graft SDK 0.2.0 but this graft is " + GRAFT_VERSION +
                                             "; rebuild it against graft SDK " + sdk_mm);
  CHECK(load_error(r, "contract_cxxabi") ==
        "plugin " + fixture_plugin("contract_cxxabi") + " was built with _GLIBCXX_USE_CXX11_ABI=" +
            std::to_string(1 - _GLIBCXX_USE_CXX11_ABI) + " (gcc test) but graft uses " +
            std::to_string(_GLIBCXX_USE_CXX11_ABI) + "; plugins must use the same C++ standard library ABI");
  CHECK(load_error(r, "contract_noid") ==
        "plugin " + fixture_plugin("contract_noid") + " has an empty id in its descriptor");
  // none of them registered anything
  CHECK(r.names(graft::ComponentKind::metric).empty());
}

TEST_CASE("a registration that throws is refused with its message") {
  Registry r;
  CHECK(load_error(r, "contract_throws") == "plugin " + fixture_plugin("contract_throws") +
                                                " (contract_throws): registration failed: cannot find my vocabulary table");
}

TEST_CASE("a plugin that registers nothing is refused") {
  Registry r;
  CHECK(load_error(r, "contract_empty") ==
        "plugin " + fixture_plugin("contract_empty") + " (contract_empty) registered no components");
}

TEST_CASE("duplicate names are an error naming both files") {
  Registry r;
  r.load_plugin(fixture_plugin("contract_good"));
  CHECK(load_error(r, "contract_duplicate") == "plugin " + fixture_plugin("contract_duplicate") +
                                                   " (contract_duplicate): metric 'contract_count' is already provided by " +
                                                   fixture_plugin("contract_good"));
  // the failed plugin left nothing behind
  CHECK(r.metric("contract_count").plugin_id == "contract_good");
}

TEST_CASE("a missing file and a file that is not a shared object are refused") {
  Registry r;
  CHECK(load_error(r, "contract_does_not_exist") ==
        "plugin " + fixture_plugin("contract_does_not_exist") + " does not exist");
  std::string dir = graft::test::temp_dir("contract");
  std::string bogus = dir + "/libgraft_bogus.so";
  { std::FILE* f = std::fopen(bogus.c_str(), "w"); std::fputs(std::string(256, 'x').c_str(), f);  /* long enough for an ELF header */ std::fclose(f); }
  std::string msg;
  try {
    r.load_plugin(bogus);
  } catch (const graft::PluginError& e) {
    msg = e.what();
  }
  CHECK(msg.rfind("plugin " + bogus + " cannot be loaded: ", 0) == 0);
  CHECK(msg.find("invalid ELF header") != std::string::npos);
}

TEST_CASE("load_directory records failures and keeps the good plugins") {
  Registry r;
  std::string dir = graft::test::temp_dir("contract-dir");
  namespace fs = std::filesystem;
  for (const char* id : {"contract_good", "contract_torch", "contract_empty"})
    fs::copy_file(fixture_plugin(id), dir + "/libgraft_" + id + ".so");
  r.load_directory(dir);
  REQUIRE(r.plugins().size() == 3);
  // sorted by file name
  CHECK(r.plugins()[0].id == "contract_empty");
  CHECK_FALSE(r.plugins()[0].loaded);
  CHECK(r.plugins()[1].loaded);
  CHECK(r.plugins()[2].reason.find("LibTorch 2.1.0") != std::string::npos);
  CHECK(r.search_path() == std::vector<std::string>{dir});
  // the same directory again loads nothing twice
  r.load_directory(dir);
  CHECK(r.plugins().size() == 3);
}

TEST_CASE("lookups suggest the nearest name and list the known ones") {
  Registry r;
  r.load_directory(CONTRACT_PLUGIN_DIR "/libgraft_contract_good.so");
  CHECK_THROWS_WITH_AS(r.metric("contract_coutn"),
                       "no metric named 'contract_coutn'; did you mean 'contract_count'?; known metrics: "
                       "contract_count; plugin search path: (empty)",
                       graft::ConfigError);
  CHECK_THROWS_WITH_AS(r.head("x"), "no head named 'x'; known heads: (none); plugin search path: (empty)",
                       graft::ConfigError);
  CHECK(r.find_head("x") == nullptr);
}

TEST_CASE("duplicates in a directory fail the directory with both files named") {
  Registry r;
  std::string dir = graft::test::temp_dir("contract-dup");
  namespace fs = std::filesystem;
  for (const char* id : {"contract_good", "contract_duplicate"})
    fs::copy_file(fixture_plugin(id), dir + "/libgraft_" + id + ".so");
  // libgraft_contract_duplicate.so sorts first, so the good plugin is the one refused
  CHECK_THROWS_WITH_AS(r.load_directory(dir),
                       ("plugin " + dir + "/libgraft_contract_good.so (contract_good): metric 'contract_count' is "
                        "already provided by " + dir + "/libgraft_contract_duplicate.so").c_str(),
                       graft::PluginError);
}
