// `graft forward` on the model-family fixtures (roberta, xlm-roberta, camembert, electra,
// distilbert, albert, dpr; masked-LM and pre-training heads): every written tensor matches the
// reference, from model.safetensors and (--weights) pytorch_model.bin; --dtype.
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
namespace parity = graft::test::parity;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// Token classification and QA heads belong to another plugin (and its tests).
bool has_head_plugin(const std::string& task) { return task != "token-classification" && task != "question-answering"; }

/// Runs graft forward and compares every reference output (logits included); returns how many.
size_t run_and_compare(const std::string& dir, const std::string& weights = "", const std::string& extra = "",
                       parity::Tolerance tol_override = {-1, -1}) {
  CAPTURE(dir);
  CAPTURE(weights);
  Value info = read_json_file(dir + "/reference.json");
  parity::Tolerance tol = tol_override.atol >= 0 ? tol_override : parity::output_tolerance(info);
  std::string out = test::temp_dir("famfwd") + "/out.safetensors";
  std::string args = cat("forward '", dir, "' --inputs '", dir, "/reference.safetensors' --out '", out, "'");
  if (!weights.empty()) args += cat(" --weights '", dir, "/", weights, "'");
  auto r = test::run_graft(args + " " + extra);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  StateDict got = read_safetensors(out);
  StateDict ref = read_safetensors(dir + "/reference.safetensors");
  size_t compared = 0;
  for (const auto& [k, t] : ref) {
    if (k.rfind("output.", 0) != 0 || k == "output.loss" || k == "output.loss_alt") continue;
    if (contains(extra, "--no-attentions") && k.rfind("output.attentions.", 0) == 0) continue;
    const torch::Tensor* g = got.find(k);
    REQUIRE_MESSAGE(g, "missing ", k);
    parity::check_close(*g, t, tol, k);
    ++compared;
  }
  // HF head classes return no pooler_output even where the checkpoint has a pooler; graft writes it.
  for (const auto& [k, t] : got)
    if (k != "output.pooler_output") CHECK_MESSAGE(ref.contains(k), "unexpected output ", k);
  return compared;
}

}  // namespace

TEST_CASE("graft forward reproduces every family's reference outputs") {
  size_t folders = 0;
  for (const auto& dir : parity::fixture_folders({"roberta-", "xlm-roberta-", "camembert-", "electra-", "distilbert-",
                                                  "albert-", "dpr-"})) {
    const std::string task = read_json_file(dir + "/reference.json").at("task").as_string();
    if (!has_head_plugin(task)) continue;
    CHECK(run_and_compare(dir) >= 5);
    ++folders;
  }
  CHECK(folders >= 12);
  if (test::have_shared()) CHECK(folders == 35);
}

TEST_CASE("graft forward --weights pytorch_model.bin gives the same outputs") {
  for (const char* name : {"roberta-masked-lm", "electra-pretraining", "distilbert-sequence-classification",
                           "albert-inner2-base", "dpr-question-encoder"})
    CHECK(run_and_compare(test::fixture(cat("models/", name)), "pytorch_model.bin") >= 5);
}

TEST_CASE("graft forward --dtype bf16 runs under autocast and stays close; bad dtypes are refused") {
  // bf16 keeps ~3 significant digits: a loose bound that still catches a wrong computation.
  CHECK(run_and_compare(test::fixture("models/roberta-sequence-classification"), "", "--dtype bf16 --no-attentions",
                        parity::Tolerance{0.15, 0.05}) >= 4);
  std::string dir = test::fixture("models/roberta-sequence-classification");
  std::string out = test::temp_dir("famfwd") + "/bad.safetensors";
  auto r = test::run_graft(cat("forward '", dir, "' --inputs '", dir, "/reference.safetensors' --out '", out,
                               "' --device cpu --dtype fp8"));
  CHECK(r.exit_code != 0);
  CHECK(contains(r.err, "fp8"));
  auto r2 = test::run_graft(cat("forward '", dir, "' --inputs '", dir, "/reference.safetensors' --out '", out,
                                "' --device cpu --dtype fp16"));
  CHECK(r2.exit_code != 0);
  CHECK(contains(r2.err, "CUDA"));
  CHECK_FALSE(fs::exists(out));
}
