// `graft forward` on HF *ForTokenClassification and *ForQuestionAnswering checkpoints: the
// token_classification / question_answering heads load the HF head weights (classifier.*,
// qa_outputs.*) and reproduce transformers 4.7.0's logits / start_logits / end_logits.
#include <doctest/doctest.h>

#include <graft/core/json.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include "test_support.h"

#include <filesystem>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

void check_close(const torch::Tensor& got, const torch::Tensor& ref, double atol, double rtol, const std::string& what) {
  REQUIRE_MESSAGE(got.sizes() == ref.sizes(), what, ": shape ", got.sizes(), " vs ", ref.sizes());
  auto g = got.to(torch::kFloat64), r = ref.to(torch::kFloat64);
  CHECK_MESSAGE(((g - r).abs() - (atol + rtol * r.abs())).max().item<double>() <= 0.0, what, " max |diff| ",
                (g - r).abs().max().item<double>());
}

/// Runs `graft forward` on a fixture folder; returns the number of head outputs compared.
size_t run_and_compare(const std::string& dir, const std::vector<std::string>& head_outputs) {
  CAPTURE(dir);
  std::string out = test::temp_dir("fwd-task") + "/out.safetensors";
  auto r = test::run_graft(cat("forward '", dir, "' --inputs '", dir, "/reference.safetensors' --out '", out, "'"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  StateDict got = read_safetensors(out);
  StateDict ref = read_safetensors(dir + "/reference.safetensors");
  Value tol = read_json_file(dir + "/reference.json").at("recommended_tolerance").at("outputs");
  const double atol = tol.at("atol").as_double(), rtol = tol.at("rtol").as_double();
  size_t compared = 0;
  for (const auto& [k, t] : ref) {
    if (k.rfind("output.", 0) != 0 || k.rfind("output.loss", 0) == 0) continue;
    const torch::Tensor* g = got.find(k);
    REQUIRE_MESSAGE(g, "missing ", k);
    check_close(*g, t, atol, rtol, k);
    if (std::find(head_outputs.begin(), head_outputs.end(), k) != head_outputs.end()) ++compared;
  }
  CHECK(compared == head_outputs.size());
  return compared;
}

}  // namespace

TEST_CASE("graft forward reproduces BertForTokenClassification and BertForQuestionAnswering") {
  run_and_compare(test::fixture("models/bert-token-classification"), {"output.logits"});
  run_and_compare(test::fixture("models/bert-question-answering"), {"output.start_logits", "output.end_logits"});
}

TEST_CASE("graft forward: token classification and QA heads of the other families (when their plugins exist)") {
  if (!test::have_shared()) return;
  const std::vector<std::pair<std::string, std::string>> families = {
      {"roberta", "roberta"},   {"xlm-roberta", "roberta"}, {"camembert", "roberta"},
      {"electra", "electra"},   {"distilbert", "distilbert"}, {"albert", "albert"}};
  for (const auto& [family, plugin] : families) {
    if (!fs::exists(test::plugin_dir() + "/libgraft_" + plugin + ".so")) {
      MESSAGE("skipped ", family, ": no libgraft_", plugin, ".so");
      continue;
    }
    SUBCASE(family.c_str()) {
      run_and_compare(test::shared(cat("fixtures/models/", family, "-token-classification")), {"output.logits"});
      run_and_compare(test::shared(cat("fixtures/models/", family, "-question-answering")),
                      {"output.start_logits", "output.end_logits"});
    }
  }
}
