// The data root of recipes (--data-dir / GRAFT_DATA): relative processor paths missing next to the
// recipe are found under the root, "{data}" stands for the root, and a recipe using "{data}"
// without a root is a ConfigError naming the key.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/data_root.h>
#include <graft/core/recipe.h>
#include <graft/core/registry.h>
#include <graft/error.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace graft;

namespace {

std::string write_recipe(const std::string& dir, const std::string& train) {
  std::string path = dir + "/recipe.toml";
  std::ofstream(path) << "graft_recipe = 1\n[language_model]\ntype = \"bert\"\nconfig = { vocab_size = 32 }\n"
                         "[tokenizer]\ntype = \"wordpiece\"\nvocab = \"vocab.txt\"\n"
                         "[[tasks]]\nname = \"ner\"\nprocessor = { type = \"conll\", train = \""
                      << train << "\" }\nhead = { type = \"token_classification\" }\nmetrics = [\"seq_f1\"]\n";
  std::ofstream(dir + "/vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  return path;
}

std::string train_of(const core::Recipe& r) { return r.tasks.at(0).processor_table.at("train").as_string(); }

}  // namespace

TEST_CASE("recipe data root: relative data paths, {data}, --data-dir over GRAFT_DATA") {
  core::Registry& reg = core::Registry::global({test::plugin_dir()});
  std::string recipe_dir = test::temp_dir("datadir-recipe");
  std::string root = test::temp_dir("datadir-root");
  fs::create_directories(root + "/conll");
  std::ofstream(root + "/conll/train.txt") << "EU B-ORG\n\n";

  ::unsetenv("GRAFT_DATA");
  core::set_data_root("");
  // no root: the relative path stays relative to the recipe; "{data}" is an error naming the key
  auto r0 = core::load_recipe(write_recipe(recipe_dir, "conll/train.txt"), {}, reg);
  CHECK(train_of(r0) == "conll/train.txt");
  CHECK_THROWS_WITH_AS(core::load_recipe(write_recipe(recipe_dir, "{data}/conll/train.txt"), {}, reg),
                       doctest::Contains("tasks[0].processor.train"), ConfigError);

  // GRAFT_DATA
  ::setenv("GRAFT_DATA", root.c_str(), 1);
  auto r1 = core::load_recipe(write_recipe(recipe_dir, "conll/train.txt"), {}, reg);
  CHECK(train_of(r1) == (fs::path(root) / "conll/train.txt").lexically_normal().string());
  auto r2 = core::load_recipe(write_recipe(recipe_dir, "{data}/conll/train.txt"), {}, reg);
  CHECK(train_of(r2) == root + "/conll/train.txt");
  // a file next to the recipe wins over the data root
  fs::create_directories(recipe_dir + "/conll");
  std::ofstream(recipe_dir + "/conll/train.txt") << "EU B-ORG\n\n";
  auto r3 = core::load_recipe(write_recipe(recipe_dir, "conll/train.txt"), {}, reg);
  CHECK(train_of(r3) == "conll/train.txt");
  fs::remove_all(recipe_dir + "/conll");

  // --data-dir (set_data_root) wins over GRAFT_DATA
  std::string other = test::temp_dir("datadir-other");
  fs::create_directories(other + "/conll");
  std::ofstream(other + "/conll/train.txt") << "EU B-ORG\n\n";
  core::set_data_root(other);
  auto r4 = core::load_recipe(write_recipe(recipe_dir, "conll/train.txt"), {}, reg);
  CHECK(train_of(r4) == (fs::path(other) / "conll/train.txt").lexically_normal().string());
  core::set_data_root("");
  ::unsetenv("GRAFT_DATA");
}
