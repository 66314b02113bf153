// `graft forward`: runs fixture folders through the CLI and checks the written tensors.
#include <doctest/doctest.h>

#include <graft/core/json.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include "model_parity.h"
#include "test_support.h"

#include <filesystem>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using graft::test::parity::check_close;

void run_and_compare(const std::string& dir, bool expect_logits) {
  CAPTURE(dir);
  std::string out = test::temp_dir("fwd") + "/out.safetensors";
  auto r = test::run_graft(cat("forward '", dir, "' --inputs '", dir, "/reference.safetensors' --out '", out, "'"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out, "wrote"));
  StateDict got = read_safetensors(out);
  StateDict ref = read_safetensors(dir + "/reference.safetensors");
  Value tol = read_json_file(dir + "/reference.json").at("recommended_tolerance").at("outputs");
  const double atol = tol.at("atol").as_double(), rtol = tol.at("rtol").as_double();
  size_t compared = 0;
  for (const auto& [k, t] : ref) {
    if (k.rfind("output.", 0) != 0 || k == "output.loss" || k == "output.loss_alt") continue;
    if (k == "output.logits" && !expect_logits) continue;
    const torch::Tensor* g = got.find(k);
    REQUIRE_MESSAGE(g, "missing ", k);
    check_close(*g, t, atol, rtol, k);
    ++compared;
  }
  // HF *ForSequenceClassification outputs carry no pooler_output; graft forward always writes it.
  for (const auto& [k, t] : got)
    if (k != "output.pooler_output") CHECK_MESSAGE(ref.contains(k), "unexpected output ", k);
  CHECK(compared >= 6);
}

}  // namespace

TEST_CASE("graft forward --help") {
  auto r = test::run_graft("forward --help");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "--inputs"));
  CHECK(contains(r.out, "--out"));
}

TEST_CASE("graft forward reproduces the reference outputs (base model and sequence classifier)") {
  run_and_compare(test::fixture("models/bert-base"), false);
  run_and_compare(test::fixture("models/bert-sequence-classification"), true);
  if (test::have_shared()) {
    for (const char* d : {"bert-sequence-classification-sharded", "bert-sequence-classification-bf16",
                          "bert-sequence-regression", "bert-sequence-multilabel"})
      run_and_compare(test::shared(cat("fixtures/models/", d)), true);
  }
}

TEST_CASE("graft forward: usage and input problems exit non-zero with a message naming the culprit") {
  std::string dir = test::fixture("models/bert-base");
  std::string out = test::temp_dir("fwd") + "/out.safetensors";
  auto r1 = test::run_graft(cat("forward '", dir, "' --out '", out, "'"));
  CHECK(r1.exit_code == 2);
  CHECK(contains(r1.err, "--inputs"));

  auto r2 = test::run_graft(cat("forward /no/such/model --inputs '", dir, "/reference.safetensors' --out '", out, "'"));
  CHECK(r2.exit_code == 3);
  CHECK(contains(r2.err, "/no/such/model"));

  // Inputs without input.input_ids.
  StateDict bad;
  bad.set("input.attention_mask", torch::ones({1, 3}, torch::kLong));
  std::string in = test::temp_dir("fwd") + "/in.safetensors";
  write_safetensors(in, bad);
  auto r3 = test::run_graft(cat("forward '", dir, "' --inputs '", in, "' --out '", out, "'"));
  CHECK(r3.exit_code == 3);
  CHECK(contains(r3.err, "input.input_ids"));
  CHECK(contains(r3.err, in));
  CHECK_FALSE(fs::exists(out));
}
