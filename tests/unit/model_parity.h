#pragma once
// Shared parity checks for the golden model fixtures (tests/fixtures/models and
// ../shared/fixtures/models): elementwise tolerance comparison, reference inputs → Batch, weight
// files of a folder, and the comparison of a language model's outputs with reference.safetensors.
// Header-only; used by the model-family tests.
#include <doctest/doctest.h>

#include <graft/core/json.h>
#include <graft/core/weights.h>
#include <graft/language_model.h>
#include <graft/types.h>

#include "test_support.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace graft::test::parity {

struct Tolerance {
  double atol = 1e-5, rtol = 1e-4;
};

/// The folder's recommended output tolerance (reference.json recommended_tolerance.outputs).
inline Tolerance output_tolerance(const Value& reference_json) {
  const Value& t = reference_json.at("recommended_tolerance").at("outputs");
  return Tolerance{t.at("atol").as_double(), t.at("rtol").as_double()};
}

/// |got − ref| ≤ atol + rtol·|ref| elementwise; reports the worst element.
inline void check_close(const torch::Tensor& got, const torch::Tensor& ref, const Tolerance& tol, const std::string& what) {
  REQUIRE_MESSAGE(got.defined(), what, ": no tensor");
  REQUIRE_MESSAGE(got.sizes() == ref.sizes(), what, ": shape ", got.sizes(), " vs reference ", ref.sizes());
  auto g = got.detach().to(torch::kCPU, torch::kFloat64), r = ref.to(torch::kFloat64);
  auto diff = (g - r).abs();
  double worst = (diff - (tol.atol + tol.rtol * r.abs())).max().item<double>();
  CHECK_MESSAGE(worst <= 0.0, what, ": max |diff| ", diff.max().item<double>(), " exceeds tolerance by ", worst);
}

inline void check_close(const torch::Tensor& got, const torch::Tensor& ref, double atol, double rtol, const std::string& what) {
  check_close(got, ref, Tolerance{atol, rtol}, what);
}

/// input.input_ids / attention_mask / token_type_ids (where present) of a reference file.
inline Batch batch_from(const core::StateDict& ref) {
  Batch b;
  b.tensors["input_ids"] = ref.at("input.input_ids");
  b.tensors["attention_mask"] = ref.at("input.attention_mask");
  if (const auto* t = ref.find("input.token_type_ids")) b.tensors["token_type_ids"] = *t;
  return b;
}

/// The weight files of a fixture folder that a loader should accept.
inline std::vector<std::string> weight_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const char* f : {"model.safetensors", "pytorch_model.bin", "model.safetensors.index.json"})
    if (fs::exists(fs::path(dir) / f)) files.push_back((fs::path(dir) / f).string());
  return files;
}

/// Fixture folders whose name starts with one of `prefixes`: the local subset always, plus every
/// matching folder of the shared set when present (the shared copy wins for the same name).
inline std::vector<std::string> fixture_folders(const std::vector<std::string>& prefixes) {
  namespace fs = std::filesystem;
  auto matches = [&](const std::string& name) {
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return name.rfind(p, 0) == 0; });
  };
  std::vector<std::string> names, dirs;
  auto collect = [&](const std::string& root) {
    if (root.empty() || !fs::is_directory(root)) return;
    for (const auto& e : fs::directory_iterator(root)) {
      const std::string name = e.path().filename().string();
      if (!e.is_directory() || !matches(name) || !fs::exists(e.path() / "reference.safetensors")) continue;
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      names.push_back(name);
      dirs.push_back(e.path().string());
    }
  };
  if (have_shared()) collect(shared("fixtures/models"));
  collect(fixture("models"));
  std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
    return fs::path(a).filename() < fs::path(b).filename();
  });
  return dirs;
}

/// Compares an LMOutput (computed with hidden states and attentions) with every encoder output
/// of the reference: last_hidden_state, pooler_output (when `check_pooler`), hidden_states.N,
/// attentions.N (and that masked keys get exactly probability 0).
inline void check_lm_outputs(const LMOutput& out, const core::StateDict& ref, const Batch& batch, const Tolerance& tol,
                             bool check_pooler) {
  check_close(out.sequence, ref.at("output.last_hidden_state"), tol, "last_hidden_state");
  if (check_pooler && ref.contains("output.pooler_output"))
    check_close(out.pooled, ref.at("output.pooler_output"), tol, "pooler_output");
  size_t n_hidden = 0, n_att = 0;
  while (ref.contains("output.hidden_states." + std::to_string(n_hidden))) ++n_hidden;
  while (ref.contains("output.attentions." + std::to_string(n_att))) ++n_att;
  REQUIRE(out.hidden_states.size() == n_hidden);
  REQUIRE(out.attentions.size() == n_att);
  for (size_t i = 0; i < n_hidden; ++i)
    check_close(out.hidden_states[i], ref.at("output.hidden_states." + std::to_string(i)), tol,
                "hidden_states." + std::to_string(i));
  for (size_t i = 0; i < n_att; ++i) {
    check_close(out.attentions[i], ref.at("output.attentions." + std::to_string(i)), tol, "attentions." + std::to_string(i));
    auto masked = (batch.at("attention_mask") == 0).unsqueeze(1).unsqueeze(2).expand_as(out.attentions[i]);
    if (masked.any().item<bool>()) CHECK(out.attentions[i].masked_select(masked).abs().max().item<float>() == 0.0f);
  }
}

}  // namespace graft::test::parity
