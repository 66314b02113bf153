// Golden error messages: each recipe under tests/recipes/broken/ fails with exactly the text in
// the .expected file beside it ({recipe} stands for the recipe's path). The registry holds
// stand-in components so that "known ..." lists do not change as plugins are added.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/error.h>

#include "fake_registry.h"
#include "test_support.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using namespace graft;

namespace {

core::Registry& fakes() {
  static core::Registry* r = [] {
    auto* reg = new core::Registry();
    reg->register_builtin("fakes", &test::register_fake_components);
    return reg;
  }();
  return *r;
}

std::string broken_dir() { return std::string(GRAFT_SOURCE_DIR) + "/tests/recipes/broken"; }

std::string error_of(const std::string& recipe) {
  try {
    core::load_recipe(recipe, {}, fakes());
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    for (size_t p; (p = msg.find(recipe)) != std::string::npos;) msg.replace(p, recipe.size(), "{recipe}");
    return msg;
  }
  return "(no error)";
}

std::string expected_of(const std::string& recipe) {
  std::string text = core::read_file(fs::path(recipe).replace_extension(".expected").string());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

void check_broken(const std::string& stem) {
  std::string recipe = broken_dir() + "/" + stem + ".toml";
  INFO(recipe);
  // GRAFT_UPDATE_GOLDEN=1 rewrites the .expected files (review the diff before committing).
  if (std::getenv("GRAFT_UPDATE_GOLDEN"))
    core::write_file_atomic(fs::path(recipe).replace_extension(".expected").string(), error_of(recipe) + "\n");
  CHECK(error_of(recipe) == expected_of(recipe));
}

}  // namespace

TEST_CASE("typo in a key") { check_broken("typo_key"); }
TEST_CASE("wrong value types") { check_broken("wrong_type"); }
TEST_CASE("unknown component names") { check_broken("unknown_component"); }
TEST_CASE("missing required keys") { check_broken("missing_required"); }
TEST_CASE("unsupported recipe version") { check_broken("bad_version"); }
TEST_CASE("missing recipe version") { check_broken("missing_version"); }
TEST_CASE("TOML syntax error") { check_broken("syntax_error"); }
TEST_CASE("values out of range or not among the choices") { check_broken("out_of_range"); }

TEST_CASE("every broken recipe has a golden message and is covered above") {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(broken_dir())) {
    if (e.path().extension() != ".toml") continue;
    ++n;
    INFO(e.path().string());
    CHECK(fs::exists(fs::path(e.path()).replace_extension(".expected")));
  }
  CHECK(n == 8);
}

TEST_CASE("graft recipe check prints every problem and exits 2") {
  // Through the CLI with the real registry: the golden text of a registry-independent case.
  std::string recipe = broken_dir() + "/bad_version.toml";
  auto r = test::run_graft("recipe check '" + recipe + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.out == "");
  std::string expected = expected_of(recipe);
  for (size_t p; (p = expected.find("{recipe}")) != std::string::npos;) expected.replace(p, 8, recipe);
  CHECK(r.err == "error: " + expected + "\n");
}
