// Every shipped recipe (recipes/**/*.toml) validates against the real registry, and its resolved
// form (every default filled in) validates again and is stable.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include "test_support.h"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;
using namespace graft;

namespace {
std::vector<std::string> shipped_recipes() {
  std::vector<std::string> out;
  fs::path root = fs::path(GRAFT_SOURCE_DIR) / "recipes";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root, ec))
    if (e.is_regular_file() && e.path().extension() == ".toml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("every recipe under recipes/ validates and its resolved form round-trips") {
  auto recipes = shipped_recipes();
  REQUIRE_MESSAGE(!recipes.empty(), "no recipes found under recipes/");
  auto& reg = core::Registry::global();
  for (const auto& path : recipes) {
    SUBCASE(path.c_str()) {
      core::Recipe r;
      try {
        r = core::load_recipe(path, {}, reg);
      } catch (const Error& e) {
        FAIL(e.what());
      }
      std::string resolved = core::to_toml(core::resolved_recipe(r, reg));
      // load_recipe made the checkpoint and plugin paths absolute, so the copy may live elsewhere
      std::string again_path = test::temp_dir("resolved") + "/resolved_recipe.toml";
      core::write_file_atomic(again_path, resolved);
      try {
        auto again = core::load_recipe(again_path, {}, reg);
        CHECK(core::to_toml(core::resolved_recipe(again, reg)) == resolved);
      } catch (const Error& e) {
        FAIL(e.what());
      }
    }
  }
}
