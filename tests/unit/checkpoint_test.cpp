// Checkpoint directories: manifest and verification, latest / keep, leftovers of killed
// writers, RNG state round trip, the signal guard.
#include "test_support.h"

#include <graft/core/checkpoint.h>
#include <graft/core/files.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

std::string make_checkpoint(const std::string& root, int64_t step, const std::string& payload = "weights") {
  std::string final_dir = root + "/" + checkpoint_name(step);
  std::string tmp = make_temp_dir_for(final_dir);
  fs::create_directories(tmp + "/sub");
  write_file_atomic(tmp + "/model.safetensors", payload);
  write_file_atomic(tmp + "/sub/vocab.txt", "[PAD]\n");
  write_checkpoint_manifest(tmp, step);
  commit_checkpoint(tmp, final_dir);
  return final_dir;
}

}  // namespace

TEST_CASE("checkpoint names sort by step") {
  CHECK(checkpoint_name(12) == "step-00000012");
  CHECK(checkpoint_name(123456789) == "step-123456789");
}

TEST_CASE("manifest: complete, missing, truncated and corrupt checkpoints") {
  std::string root = test::temp_dir("ckpt");
  std::string a = make_checkpoint(root, 5);
  CHECK(verify_checkpoint(a).empty());
  CHECK(fs::exists(a + "/checkpoint.json"));
  CHECK(verify_checkpoint(root + "/nope") == "not a directory");

  std::string b = make_checkpoint(root, 10, "0123456789");
  { std::ofstream(b + "/model.safetensors", std::ios::binary | std::ios::in | std::ios::out) << "X"; }  // same size
  CHECK(verify_checkpoint(b, /*verify_hashes=*/false).empty());
  CHECK(verify_checkpoint(b).find("model.safetensors is corrupt") != std::string::npos);

  std::string c = make_checkpoint(root, 15);
  fs::remove(c + "/sub/vocab.txt");
  CHECK(verify_checkpoint(c) == "sub/vocab.txt is missing");

  std::string d = make_checkpoint(root, 20);
  fs::remove(d + "/checkpoint.json");  // as if killed before the manifest
  CHECK(verify_checkpoint(d).find("checkpoint.json is missing") != std::string::npos);
  std::ofstream(d + "/checkpoint.json") << "{\"graft_checkpoint\": 1, \"files\": ";
  CHECK(verify_checkpoint(d).find("unreadable") != std::string::npos);

  // latest skips 20, 15 and 10 (with warnings) and returns 5
  auto all = list_checkpoints(root);
  REQUIRE(all.size() == 4);
  CHECK(all.front().first == 5);
  CHECK(all.back().first == 20);
  CHECK(latest_checkpoint(root) == a);
  CHECK(resolve_resume("latest", root) == a);
  CHECK(resolve_resume(a, root) == a);
  CHECK_THROWS_AS(resolve_resume(b, root), ConfigError);
  CHECK_THROWS_AS(latest_checkpoint(test::temp_dir("ckpt-empty")), ConfigError);
}

TEST_CASE("keep K newest; temp dirs of dead writers are removed, others' are not") {
  std::string root = test::temp_dir("ckpt-keep");
  for (int64_t s : {1, 2, 3, 4}) make_checkpoint(root, s);
  fs::create_directories(root + "/.step-00000005.tmp-999999999-0");  // no such process
  fs::create_directories(root + "/.step-00000006.tmp-" + std::to_string(::getpid()) + "-7");  // ours
  fs::create_directories(root + "/notes");
  prune_checkpoints(root, 2);
  auto all = list_checkpoints(root);
  REQUIRE(all.size() == 2);
  CHECK(all[0].first == 3);
  CHECK(all[1].first == 4);
  CHECK_FALSE(fs::exists(root + "/.step-00000005.tmp-999999999-0"));
  CHECK(fs::exists(root + "/.step-00000006.tmp-" + std::to_string(::getpid()) + "-7"));
  CHECK(fs::exists(root + "/notes"));
}

TEST_CASE("committing over an existing checkpoint replaces it") {
  std::string root = test::temp_dir("ckpt-replace");
  make_checkpoint(root, 3, "old");
  std::string d = make_checkpoint(root, 3, "newer");
  CHECK(read_file(d + "/model.safetensors") == "newer");
  CHECK(verify_checkpoint(d).empty());
}

TEST_CASE("torch RNG state round trip repeats the random stream") {
  torch::manual_seed(3);
  (void)torch::rand({5});
  auto st = rng_state();
  REQUIRE(st.count("torch_cpu") == 1);
  auto a = torch::rand({7});
  auto drop = torch::dropout(torch::ones({16}), 0.5, true);
  torch::manual_seed(99);
  set_rng_state(st);
  CHECK(torch::equal(torch::rand({7}), a));
  CHECK(torch::equal(torch::dropout(torch::ones({16}), 0.5, true), drop));
  CHECK_THROWS_AS(set_rng_state({}), FormatError);
  CHECK_THROWS_AS(set_rng_state({{"torch_cpu", torch::zeros({3}, torch::kUInt8)}}), FormatError);
}

TEST_CASE("signal guard: SIGTERM/SIGINT are recorded while alive, default handlers restored after") {
  SignalGuard::clear();
  struct sigaction before {};
  ::sigaction(SIGTERM, nullptr, &before);
  {
    SignalGuard g;
    CHECK(SignalGuard::pending() == 0);
    ::raise(SIGTERM);  // handled: the process keeps running
    CHECK(SignalGuard::pending() == SIGTERM);
    SignalGuard::clear();
    ::raise(SIGINT);
    CHECK(SignalGuard::pending() == SIGINT);
    SignalGuard::clear();
  }
  struct sigaction after {};
  ::sigaction(SIGTERM, nullptr, &after);
  CHECK((after.sa_handler == before.sa_handler));
}
