#include <algorithm>
// The bert plugin and nn blocks against the golden fixtures (every bert-* folder, .bin and
// .safetensors), config errors, from-scratch initialisation, save → reload.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/model_loader.h>
#include <graft/core/registry.h>
#include <graft/core/weights.h>
#include <graft/error.h>
#include <graft/nn/encoder.h>

#include "model_parity.h"
#include "test_support.h"

#include <cmath>
#include <filesystem>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();
    reg->load_plugin(test::plugin_dir() + "/libgraft_bert.so");
    const std::string tc = test::plugin_dir() + "/libgraft_text_classification.so";
    if (fs::exists(tc)) reg->load_plugin(tc);
    return reg;
  }();
  return *r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

using graft::test::parity::batch_from;
using graft::test::parity::check_close;
using graft::test::parity::weight_files;

std::vector<std::string> bert_folders() {
  std::vector<std::string> dirs = {test::fixture("models/bert-base"), test::fixture("models/bert-sequence-classification"),
                                   test::fixture("models/bert-masked-lm")};
  if (test::have_shared()) {
    for (const auto& e : fs::directory_iterator(test::shared("fixtures/models")))
      if (e.path().filename().string().rfind("bert-", 0) == 0) dirs.push_back(e.path().string());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// Runs one fixture folder through one weights file and compares every reference output.
void check_folder(const std::string& dir, const std::string& weights) {
  CAPTURE(weights);
  Value info = read_json_file(dir + "/reference.json");
  const Value& tol = info.at("recommended_tolerance").at("outputs");
  const double atol = tol.at("atol").as_double(), rtol = tol.at("rtol").as_double();
  StateDict ref = read_safetensors(dir + "/reference.safetensors");

  LoadPretrainedOptions lo;
  lo.weights_file = weights;
  LoadedModel m = load_pretrained(dir, registry(), lo);
  CHECK(m.registry_name == "bert");
  // Nothing of the encoder may be missing except a pooler absent from head classes without one.
  for (const auto& miss : m.report.missing) CHECK_MESSAGE(miss.rfind("pooler.", 0) == 0, miss);
  const bool has_pooler = ref.contains("output.pooler_output");
  // a pooler is missing only from head classes without one (their references carry no pooler_output)
  if (has_pooler) CHECK(m.report.missing.empty());

  torch::NoGradGuard ng;
  Batch batch = batch_from(ref);
  LMOutput out = m.model->forward(batch, ForwardOptions{true, true});
  check_close(out.sequence, ref.at("output.last_hidden_state"), atol, rtol, "last_hidden_state");
  if (has_pooler) check_close(out.pooled, ref.at("output.pooler_output"), atol, rtol, "pooler_output");
  size_t n_hidden = 0, n_att = 0;
  while (ref.contains(cat("output.hidden_states.", n_hidden))) ++n_hidden;
  while (ref.contains(cat("output.attentions.", n_att))) ++n_att;
  REQUIRE(out.hidden_states.size() == n_hidden);
  REQUIRE(out.attentions.size() == n_att);
  for (size_t i = 0; i < n_hidden; ++i)
    check_close(out.hidden_states[i], ref.at(cat("output.hidden_states.", i)), atol, rtol, cat("hidden_states.", i));
  for (size_t i = 0; i < n_att; ++i) {
    check_close(out.attentions[i], ref.at(cat("output.attentions.", i)), atol, rtol, cat("attentions.", i));
    // Masked keys get exactly zero probability (README quirk 10).
    auto masked = (batch.at("attention_mask") == 0).unsqueeze(1).unsqueeze(2).expand_as(out.attentions[i]);
    CHECK(out.attentions[i].masked_select(masked).abs().max().item<float>() == 0.0f);
  }
  // Without hidden states / attentions requested the result is the same.
  LMOutput plain = m.model->forward(batch);
  CHECK(plain.hidden_states.empty());
  CHECK(plain.attentions.empty());
  check_close(plain.sequence, ref.at("output.last_hidden_state"), atol, rtol, "last_hidden_state (no extras)");

  if (m.architecture_suffix() == "ForSequenceClassification" && ref.contains("output.logits")) {
    auto head = load_hf_head(m, registry(), "t");
    REQUIRE_MESSAGE(head, "the text_classification plugin provides the ForSequenceClassification head");
    check_close(head->forward(out, batch), ref.at("output.logits"), atol, rtol, "logits");
  }
}

std::string copy_fixture(const std::string& name) {
  std::string dst = test::temp_dir("bertcopy") + "/" + name;
  fs::copy(test::fixture("models/" + name), dst, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return dst;
}

std::string expect_format_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const FormatError& e) {
    return e.what();
  }
  FAIL("expected a FormatError");
  return {};
}

}  // namespace

TEST_CASE("activations match their HF definitions") {
  auto x = torch::tensor({-3.0, -1.0, 0.0, 0.5, 1.0, 2.5}, torch::kFloat64);
  auto erf_gelu = 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)));
  auto tanh_gelu = 0.5 * x * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  CHECK(torch::allclose(nn::apply_activation(nn::activation_from_name("gelu"), x), erf_gelu, 0, 1e-12));
  CHECK(torch::allclose(nn::apply_activation(nn::activation_from_name("gelu_new"), x), tanh_gelu, 0, 1e-12));
  CHECK(torch::equal(nn::apply_activation(nn::activation_from_name("relu"), x), torch::relu(x)));
  CHECK(std::abs(nn::gelu(torch::tensor(1.0, torch::kFloat64)).item<double>() - 0.8413447460685429) < 1e-12);
  CHECK(nn::activation_name(nn::activation_from_name("gelu_pytorch_tanh")) == "gelu_new");
  CHECK_THROWS_AS(nn::activation_from_name("gelu_fastest"), ConfigError);
}

TEST_CASE("extended attention mask and attention probabilities follow HF 4.7 (−10000, masked keys exactly 0)") {
  auto mask = torch::tensor({{1, 1, 0}, {1, 0, 0}});
  auto ext = nn::extended_attention_mask(mask, torch::kFloat32);
  CHECK(ext.sizes() == torch::IntArrayRef({2, 1, 1, 3}));
  CHECK(ext[0][0][0][2].item<float>() == -10000.0f);
  CHECK(ext[0][0][0][0].item<float>() == 0.0f);
  torch::manual_seed(0);
  auto q = torch::randn({2, 2, 3, 4}), k = torch::randn({2, 2, 3, 4}), v = torch::randn({2, 2, 3, 4});
  auto [ctx, probs] = nn::scaled_dot_product(q, k, v, ext, 0.1, false, true);
  CHECK(torch::allclose(probs.sum(-1), torch::ones({2, 2, 3})));
  CHECK(probs[1].index({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(1, 3)}).abs().max().item<float>() == 0.0f);
  auto [ctx2, none] = nn::scaled_dot_product(q, k, v, ext, 0.1, false, false);
  CHECK_FALSE(none.defined());
  CHECK(torch::allclose(ctx, ctx2, 1e-6, 1e-5));
  // Explicit reference computation.
  auto ref = torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-1, -2)) / 2.0 + ext, -1), v);
  CHECK(torch::allclose(ctx, ref, 1e-6, 1e-5));
}

TEST_CASE("nn blocks carry the HF parameter names") {
  nn::EncoderLayerOptions o;
  o.attention.hidden_size = 8;
  o.attention.num_heads = 2;
  o.intermediate_size = 5;
  nn::EncoderLayer layer(o);
  std::vector<std::string> names;
  for (const auto& p : layer->named_parameters()) names.push_back(p.key());
  std::vector<std::string> expected = {
      "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight",
      "attention.self.key.bias", "attention.self.value.weight", "attention.self.value.bias",
      "attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight",
      "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
      "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias"};
  CHECK(names == expected);
  o.attention.num_heads = 3;
  CHECK_THROWS_AS(nn::EncoderLayer{o}, ConfigError);
}

TEST_CASE("every bert fixture folder matches its reference outputs (all weight formats)") {
  size_t checked = 0;
  for (const auto& dir : bert_folders()) {
    if (!fs::exists(dir + "/reference.safetensors") || !fs::exists(dir + "/config.json")) continue;
    for (const auto& w : weight_files(dir)) {
      check_folder(dir, w);
      ++checked;
    }
  }
  CHECK(checked >= 6);
  if (test::have_shared()) CHECK(checked >= 25);
}

TEST_CASE("the bert plugin registers its options schema and reads config.json leniently") {
  const auto& e = registry().language_model_for_model_type("bert");
  CHECK(e.entry.name == "bert");
  LoadedModel m = load_pretrained(test::fixture("models/bert-sequence-classification"), registry());
  CHECK(m.architectures == std::vector<std::string>{"BertForSequenceClassification"});
  CHECK(m.architecture_suffix() == "ForSequenceClassification");
  CHECK(m.model->hidden_size() == 32);
  CHECK(m.model->base_model_prefix() == "bert");
  CHECK(m.report.ignored == std::vector<std::string>{"bert.embeddings.position_ids"});
  auto unexpected = m.report.unexpected;
  std::sort(unexpected.begin(), unexpected.end());
  CHECK(unexpected == std::vector<std::string>{"classifier.bias", "classifier.weight"});
  CHECK(m.state_dict.contains("classifier.weight"));
  Value cfg = m.model->hf_config();
  CHECK(cfg.at("model_type").as_string() == "bert");
  CHECK(cfg.at("layer_norm_eps").as_double() == 1e-12);
  CHECK(cfg.at("vocab_size").as_int() == 99);
  CHECK(cfg.at("architectures").as_array().front().as_string() == "BertModel");
  CHECK(cfg.contains("transformers_version"));  // unknown HF keys survive
}

TEST_CASE("bad config.json and mismatched weights are FormatErrors naming the file and key/tensor") {
  SUBCASE("missing required key") {
    auto dir = copy_fixture("bert-base");
    Value cfg = read_json_file(dir + "/config.json");
    cfg.erase("num_attention_heads");
    write_json_file(dir + "/config.json", cfg);
    auto msg = expect_format_error([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "config.json"));
    CHECK(contains(msg, "num_attention_heads"));
  }
  SUBCASE("unparsable") {
    auto dir = copy_fixture("bert-base");
    write_file_atomic(dir + "/config.json", "{\"model_type\": \"bert\",");
    CHECK(contains(expect_format_error([&] { load_pretrained(dir, registry()); }), "config.json"));
  }
  SUBCASE("no model_type") {
    auto dir = copy_fixture("bert-base");
    Value cfg = read_json_file(dir + "/config.json");
    cfg.erase("model_type");
    write_json_file(dir + "/config.json", cfg);
    auto msg = expect_format_error([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "config.json"));
    CHECK(contains(msg, "model_type"));
  }
  SUBCASE("wrong type and inconsistent values") {
    auto dir = copy_fixture("bert-base");
    Value cfg = read_json_file(dir + "/config.json");
    cfg.set("hidden_act", "swishy");
    cfg.set("num_attention_heads", 5);
    write_json_file(dir + "/config.json", cfg);
    auto msg = expect_format_error([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "hidden_act"));
  }
  SUBCASE("weights of another shape") {
    auto dir = copy_fixture("bert-base");
    Value cfg = read_json_file(dir + "/config.json");
    cfg.set("intermediate_size", 38);
    write_json_file(dir + "/config.json", cfg);
    auto msg = expect_format_error([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "model.safetensors"));
    CHECK(contains(msg, "intermediate.dense.weight"));
    CHECK(contains(msg, "[37, 32]"));
  }
  SUBCASE("required weights missing") {
    auto dir = copy_fixture("bert-base");
    StateDict sd = read_safetensors(dir + "/model.safetensors");
    StateDict cut;
    for (const auto& [k, t] : sd)
      if (k != "encoder.layer.1.output.dense.weight") cut.set(k, t.clone());
    sd = StateDict();
    fs::remove(dir + "/pytorch_model.bin");
    write_safetensors(dir + "/model.safetensors", cut);
    auto msg = expect_format_error([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "encoder.layer.1.output.dense.weight"));
  }
  SUBCASE("no weights at all") {
    auto dir = copy_fixture("bert-base");
    fs::remove(dir + "/model.safetensors");
    fs::remove(dir + "/pytorch_model.bin");
    CHECK(contains(expect_format_error([&] { load_pretrained(dir, registry()); }), "no model weights"));
  }
}

TEST_CASE("from-scratch models get HF's initialisation") {
  Value cfg = Value::object();
  cfg.set("model_type", "bert");
  cfg.set("vocab_size", 500);
  cfg.set("hidden_size", 64);
  cfg.set("num_hidden_layers", 2);
  cfg.set("num_attention_heads", 4);
  cfg.set("intermediate_size", 128);
  cfg.set("pad_token_id", 3);
  cfg.set("initializer_range", 0.05);
  torch::manual_seed(1);
  auto model = build_from_config(cfg, "", registry());
  torch::NoGradGuard ng;
  for (const auto& p : model->named_parameters()) {
    const std::string& n = p.key();
    const auto& t = p.value();
    CAPTURE(n);
    if (n.find("LayerNorm.weight") != std::string::npos) {
      CHECK(torch::equal(t, torch::ones_like(t)));
    } else if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0) {
      CHECK(torch::equal(t, torch::zeros_like(t)));
    } else if (n == "embeddings.word_embeddings.weight") {
      CHECK(t[3].abs().max().item<float>() == 0.0f);
      auto rest = torch::cat({t.slice(0, 0, 3), t.slice(0, 4)});
      CHECK(std::abs(rest.std().item<double>() - 0.05) < 0.005);
      CHECK(std::abs(rest.mean().item<double>()) < 0.005);
    } else {
      CHECK(std::abs(t.std().item<double>() - 0.05) < 0.01);
    }
  }
  // Unknown family / bad values.
  CHECK_THROWS_AS(build_from_config(cfg, "no_such_family", registry()), ConfigError);
  cfg.set("hidden_size", 65);
  CHECK_THROWS_AS(build_from_config(cfg, "bert", registry()), FormatError);
}

TEST_CASE("save_pretrained → load_pretrained is bit-identical, with head tensors and config keys") {
  LoadedModel m = load_pretrained(test::fixture("models/bert-sequence-classification"), registry());
  SaveOptions so;
  so.extra_tensors.set("classifier.weight", m.state_dict.at("classifier.weight"));
  so.extra_tensors.set("classifier.bias", m.state_dict.at("classifier.bias"));
  Value extra = Value::object();
  extra.set("architectures", Value(Value::Array{Value("BertForSequenceClassification")}));
  extra.set("id2label", m.config.at("id2label"));
  so.extra_config = extra;
  std::string out = test::temp_dir("saved") + "/model";
  save_pretrained(out, *m.model, so);

  StateDict saved = read_safetensors(out + "/model.safetensors");
  CHECK(saved.contains("bert.encoder.layer.0.attention.self.query.weight"));
  CHECK(saved.contains("classifier.weight"));
  LoadedModel back = load_pretrained(out, registry());
  CHECK(back.architecture_suffix() == "ForSequenceClassification");
  CHECK(back.report.missing.empty());
  auto a = state_dict_of(*m.model), b = state_dict_of(*back.model);
  REQUIRE(a.keys() == b.keys());
  for (const auto& [k, t] : a) CHECK_MESSAGE(torch::equal(t, b.at(k)), k);
  CHECK(torch::equal(back.state_dict.at("classifier.weight"), m.state_dict.at("classifier.weight")));
  CHECK(back.config.at("hidden_act").as_string() == "gelu");
  CHECK(back.config.at("id2label") == m.config.at("id2label"));

  // Base-model save: no prefix.
  std::string base = test::temp_dir("saved") + "/base";
  save_pretrained(base, *m.model);
  StateDict plain = read_safetensors(base + "/model.safetensors");
  CHECK(plain.contains("embeddings.word_embeddings.weight"));
  CHECK(plain.size() == a.size());
}
