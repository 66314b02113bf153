// The 5-step training golden (transformers 4.7.0 / torch 1.13): BERT plugin + text
// classification head through the registry, trained with graft's Trainer::train_step.
#include "test_support.h"

#include <graft/core/json.h>
#include <graft/core/model_dir.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/core/weights.h>

#include <doctest/doctest.h>

#include <cmath>
#include <set>

using namespace graft;
using namespace graft::core;

namespace {

std::vector<std::string> golden_dirs() {
  std::vector<std::string> d{test::fixture("training")};
  if (test::have_shared()) d.push_back(test::shared("fixtures/models/train-bert-sequence-classification"));
  return d;
}

/// HF name of a graft parameter ("heads.<task>.classifier.weight" → "classifier.weight").
std::string hf_name(const std::string& n) {
  if (n.rfind("heads.", 0) == 0) return n.substr(n.find('.', 6) + 1);
  return n;
}

void run_golden(const std::string& dir, const std::string& run_name) {
  CAPTURE(dir);
  CAPTURE(run_name);
  Registry& reg = Registry::global({test::plugin_dir()});
  Value golden = read_json_file(dir + "/training.json");
  const Value& run = golden.at("runs").at(run_name);

  // plain HF checkpoint: head from the registry by architecture suffix, labels from id2label
  ModelBundle bundle = load_model_dir(dir + "/initial", reg);
  REQUIRE(bundle.tasks.size() == 1);
  const std::string task = bundle.tasks[0].name;
  CHECK(bundle.tasks[0].labels == std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"});
  AdaptiveModel& model = *bundle.model;
  auto initial = model.snapshot();

  TrainerOptions o;
  o.optimizer.type = run_name == "hf_adamw" ? "hf_adamw" : "adamw";
  o.optimizer.lr = 1e-3;
  o.optimizer.weight_decay = 0.01;
  o.schedule.type = "linear";
  o.schedule.warmup = 2.0;  // steps
  o.training.max_grad_norm = run_name == "torch_adamw_clip1" ? 1.0 : 0.0;
  o.training.precision = "fp32";
  Trainer trainer(model, o);
  trainer.set_total_steps(5);

  // no-decay groups exactly as transformers' Trainer.create_optimizer
  std::set<std::string> decay, no_decay;
  for (const auto& p : trainer.optimizer().parameters()) (p.decay ? decay : no_decay).insert(hf_name(p.name));
  std::set<std::string> want_decay, want_no_decay;
  for (const auto& v : golden.at("param_groups").at("weight_decay_0.01").as_array()) want_decay.insert(v.as_string());
  for (const auto& v : golden.at("param_groups").at("weight_decay_0").as_array()) want_no_decay.insert(v.as_string());
  CHECK(decay == want_decay);
  CHECK(no_decay == want_no_decay);

  StateDict batches = read_safetensors(dir + "/batches.safetensors");
  const auto& steps = run.at("steps").as_array();
  REQUIRE(steps.size() == 5);
  for (int64_t s = 0; s < 5; ++s) {
    Batch b;
    for (const char* k : {"input_ids", "attention_mask", "token_type_ids"}) b.tensors[k] = batches.at(k)[s].to(torch::kLong);
    b.tensors[task + "/label_ids"] = batches.at("labels")[s].to(torch::kLong);
    StepRecord r = trainer.train_step({TaskBatch{task, b}});
    const Value& g = steps[static_cast<size_t>(s)];
    CAPTURE(s);
    CHECK(r.lr == g.at("lr").as_double());
    double loss = g.at("loss").as_double();
    CHECK(std::abs(r.loss - loss) <= 1e-5 + 1e-5 * std::abs(loss));
    double norm = (g.contains("grad_norm") ? g.at("grad_norm") : g.at("grad_norm_pre_clip")).as_double();
    CHECK(std::abs(r.grad_norm - norm) <= 1e-5 * norm);
  }

  StateDict final_state = read_safetensors(dir + "/final_state_" + run_name + ".safetensors");
  std::map<std::string, torch::Tensor> ours;
  for (const auto& [k, t] : model.export_state()) ours[k] = t.detach();
  std::map<std::string, torch::Tensor> init_hf;
  for (const auto& [k, t] : initial) init_hf[hf_name(k)] = t;
  int64_t compared = 0;
  for (const auto& [name, want] : final_state) {
    CAPTURE(name);
    auto it = ours.find(name);
    if (it == ours.end()) {
      CHECK(name.find("position_ids") != std::string::npos);  // only the buffer may be absent
      continue;
    }
    const torch::Tensor& got = it->second;
    REQUIRE(got.sizes() == want.sizes());
    if (name.find("attention.self.key.bias") != std::string::npos) {
      // true gradient is 0: rounding noise; only bounded by the sum of learning rates
      double moved = (got.to(torch::kDouble) - init_hf.at(name).to(torch::kDouble)).abs().max().item<double>();
      CHECK(moved <= 2.5e-3 + 1e-9);
    } else {
      bool close = torch::allclose(got.to(torch::kDouble), want.to(torch::kDouble), 1e-4, 1e-5);
      if (!close) MESSAGE("max abs diff ", (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>());
      CHECK(close);
    }
    ++compared;
  }
  CHECK(compared >= static_cast<int64_t>(want_decay.size() + want_no_decay.size()));
}

}  // namespace

TEST_CASE("training golden: torch AdamW") {
  for (const auto& d : golden_dirs()) run_golden(d, "torch_adamw");
}
TEST_CASE("training golden: torch AdamW + clip_grad_norm_(1.0)") {
  for (const auto& d : golden_dirs()) run_golden(d, "torch_adamw_clip1");
}
TEST_CASE("training golden: transformers 4.7.0 AdamW") {
  for (const auto& d : golden_dirs()) run_golden(d, "hf_adamw");
}
