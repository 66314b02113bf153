// HF *ForSequenceClassification checkpoints with problem_type multi_label_classification /
// regression load into the multilabel_classification / regression heads (not the single-label
// one), with their labels, and reproduce transformers 4.7.0's logits and loss. The repository
// has the BERT folders; with ../shared every family's folders run (when its plugin is built).
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/hf_heads.h>
#include <graft/core/model_dir.h>
#include <graft/core/registry.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

Registry& registry() { return Registry::global({test::plugin_dir()}); }

std::vector<std::string> folders(const std::string& suffix) {
  std::vector<std::string> dirs = {test::fixture("models/bert-sequence-" + suffix)};
  if (test::have_shared()) {
    for (const auto& e : fs::directory_iterator(test::shared("fixtures/models"))) {
      std::string name = e.path().filename().string();
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
          name.find("-sequence-") != std::string::npos)
        dirs.push_back(e.path().string());
    }
  }
  return dirs;
}

void check_close(const torch::Tensor& got, const torch::Tensor& want, double atol, double rtol, const std::string& what) {
  REQUIRE_MESSAGE(got.sizes() == want.sizes(), what, ": shape ", got.sizes(), " vs ", want.sizes());
  auto diff = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs();
  auto bound = atol + rtol * want.to(torch::kFloat64).abs();
  CHECK_MESSAGE((diff <= bound).all().item<bool>(), what, ": max |diff| ", diff.max().item<double>());
}

void run_folder(const std::string& dir, const std::string& head_type) {
  CAPTURE(dir);
  ModelBundle b;
  try {
    b = load_model_dir(dir, registry());
  } catch (const ConfigError& e) {
    if (std::string(e.what()).find("no language model serves") != std::string::npos) {
      MESSAGE("skipped (family plugin not built): ", e.what());
      return;
    }
    throw;
  }
  REQUIRE(b.tasks.size() == 1);
  const TaskSpec& t = b.tasks.front();
  CHECK(t.head_type == head_type);
  StateDict ref = read_safetensors(dir + "/reference.safetensors");
  Batch batch;
  batch.tensors["input_ids"] = ref.at("input.input_ids");
  batch.tensors["attention_mask"] = ref.at("input.attention_mask");
  if (ref.contains("input.token_type_ids")) batch.tensors["token_type_ids"] = ref.at("input.token_type_ids");
  torch::NoGradGuard ng;
  auto out = b.model->forward(batch, {t.name});
  const torch::Tensor& logits = out.logits.at(t.name);
  check_close(logits, ref.at("output.logits"), 1e-5, 1e-4, "logits");
  batch.tensors[t.name + "/label_ids"] = ref.at("input.labels");
  double loss = b.model->head(t.name).loss(logits, batch).mean().item<double>();
  CHECK(loss == doctest::Approx(ref.at("output.loss").item<double>()).epsilon(1e-4));
}

}  // namespace

TEST_CASE("problem_type picks the head for *ForSequenceClassification") {
  Value ml = Value::object();
  ml.set("problem_type", "multi_label_classification");
  CHECK(hf_problem_type(ml) == "multi_label_classification");
  Value one = Value::object();
  Value id2label = Value::object();
  id2label.set("0", "LABEL_0");
  one.set("id2label", id2label);
  CHECK(hf_problem_type(one) == "regression");  // num_labels == 1, as transformers infers it
  CHECK(hf_problem_type(Value::object()) == "");
  auto* h = head_for_hf_checkpoint(registry(), "ForSequenceClassification", ml);
  REQUIRE(h != nullptr);
  CHECK(h->entry.name == "multilabel_classification");
  h = head_for_hf_checkpoint(registry(), "ForSequenceClassification", one);
  REQUIRE(h != nullptr);
  CHECK(h->entry.name == "regression");
  h = head_for_hf_checkpoint(registry(), "ForSequenceClassification", Value::object());
  REQUIRE(h != nullptr);
  CHECK(h->entry.name == "text_classification");
}

TEST_CASE("HF multilabel checkpoints: labels from id2label, logits and BCE loss as transformers") {
  for (const auto& dir : folders("multilabel")) run_folder(dir, "multilabel_classification");
  ModelBundle b = load_model_dir(test::fixture("models/bert-sequence-multilabel"), registry());
  CHECK(b.tasks.front().labels == std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"});
  CHECK(b.tasks.front().processor_type == "tsv_multilabel");
}

TEST_CASE("HF regression checkpoints: one output, logits and MSE loss as transformers") {
  for (const auto& dir : folders("regression")) run_folder(dir, "regression");
  ModelBundle b = load_model_dir(test::fixture("models/bert-sequence-regression"), registry());
  CHECK(b.tasks.front().processor_type == "tsv_regression");
  CHECK(b.model->head(b.tasks.front().name).labels().size() == 1);
}
