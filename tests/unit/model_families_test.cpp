// The model-family plugins (roberta / xlm-roberta / camembert, electra, distilbert, albert, dpr)
// and the HF heads on top of them (text_classification layouts, masked_lm, electra_discriminator)
// against the golden fixtures: every encoder output, logits and losses, from model.safetensors and
// pytorch_model.bin; registry choice by model_type; bad configs and checkpoints; from-scratch
// initialisation; save → reload.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/model_loader.h>
#include <graft/core/registry.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include "model_parity.h"
#include "test_support.h"

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;
namespace parity = graft::test::parity;

namespace {

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();
    for (const char* p : {"bert", "roberta", "electra", "distilbert", "albert", "dpr", "text_classification", "language_modeling"})
      reg->load_plugin(test::plugin_dir() + "/libgraft_" + p + ".so");
    return reg;
  }();
  return *r;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::map<std::string, std::string>& registry_name_of_family() {
  static const std::map<std::string, std::string> m = {
      {"bert", "bert"},       {"roberta", "roberta"}, {"xlm-roberta", "xlm_roberta"}, {"camembert", "camembert"},
      {"electra", "electra"}, {"distilbert", "distilbert"}, {"albert", "albert"},   {"dpr", "dpr"}};
  return m;
}

/// Tasks whose head this test's plugins provide (token classification and QA are another plugin's).
bool head_task(const std::string& task) {
  return task == "sequence-classification" || task == "sequence-regression" || task == "sequence-multilabel" ||
         task == "masked-lm" || task == "pretraining";
}
/// Tasks whose HF loss equals the head's loss (regression/multilabel losses belong to their own heads).
bool loss_task(const std::string& task) {
  return task == "sequence-classification" || task == "masked-lm" || task == "pretraining";
}

struct Checked {
  size_t folders = 0, runs = 0, logits = 0, losses = 0;
};

/// One fixture folder through one weights file: encoder outputs, head logits and loss.
void check_folder(const std::string& dir, const std::string& weights, Checked& checked) {
  CAPTURE(weights);
  Value info = read_json_file(dir + "/reference.json");
  const std::string task = info.at("task").as_string(), family = info.at("family").as_string();
  const parity::Tolerance tol = parity::output_tolerance(info);
  StateDict ref = read_safetensors(dir + "/reference.safetensors");

  LoadPretrainedOptions lo;
  lo.weights_file = weights;
  LoadedModel m = load_pretrained(dir, registry(), lo);
  REQUIRE(registry_name_of_family().count(family));
  CHECK(m.registry_name == registry_name_of_family().at(family));
  bool pooler_missing = false;
  for (const auto& miss : m.report.missing) {
    CHECK_MESSAGE(miss.rfind("pooler.", 0) == 0, "missing ", miss);
    pooler_missing = true;
  }
  // Head classes without a pooler have none in the checkpoint; base models always do (if the family has one).
  if (ref.contains("output.pooler_output")) CHECK_FALSE(pooler_missing);

  torch::NoGradGuard ng;
  Batch batch = parity::batch_from(ref);
  LMOutput out = m.model->forward(batch, ForwardOptions{true, true});
  parity::check_lm_outputs(out, ref, batch, tol, !pooler_missing);
  LMOutput plain = m.model->forward(batch);
  CHECK(plain.hidden_states.empty());
  CHECK(plain.attentions.empty());
  parity::check_close(plain.sequence, ref.at("output.last_hidden_state"), tol, "last_hidden_state (no extras)");
  ++checked.runs;

  if (!head_task(task)) return;
  auto head = load_hf_head(m, registry(), "t");
  REQUIRE_MESSAGE(head, "no head loaded for ", m.architectures.front());
  torch::Tensor logits = head->forward(out, batch);
  parity::check_close(logits, ref.at("output.logits"), tol, "logits");
  ++checked.logits;
  if (loss_task(task) && ref.contains("output.loss")) {
    Batch labelled = batch;
    labelled.tensors["t/label_ids"] = ref.at("input.labels");
    torch::Tensor rows = head->loss(logits, labelled);
    CHECK(rows.sizes() == torch::IntArrayRef({batch.size()}));
    parity::check_close(rows.mean(), ref.at("output.loss"), parity::Tolerance{1e-5, 1e-5}, "loss");
    ++checked.losses;
  }
}

Checked check_family(const std::vector<std::string>& prefixes) {
  Checked c;
  for (const auto& dir : parity::fixture_folders(prefixes)) {
    CAPTURE(dir);
    ++c.folders;
    for (const auto& w : parity::weight_files(dir)) check_folder(dir, w, c);
  }
  return c;
}

std::string copy_fixture(const std::string& name) {
  std::string dst = test::temp_dir("famcopy") + "/" + name;
  fs::copy(test::fixture("models/" + name), dst, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  return dst;
}

template <class E>
std::string expect_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected an exception of the right type");
  return {};
}

Value small_config(const std::string& model_type) {
  Value c = Value::object();
  c.set("model_type", model_type);
  c.set("vocab_size", 50);
  if (model_type == "distilbert") {
    c.set("dim", 16);
    c.set("n_layers", 2);
    c.set("n_heads", 2);
    c.set("hidden_dim", 24);
  } else {
    c.set("hidden_size", 16);
    c.set("num_hidden_layers", 3);
    c.set("num_attention_heads", 2);
    c.set("intermediate_size", 24);
    c.set("max_position_embeddings", 40);
  }
  if (model_type == "electra" || model_type == "albert") c.set("embedding_size", 8);
  return c;
}

Batch small_batch() {
  Batch b;
  b.tensors["input_ids"] = torch::tensor({{5, 6, 7, 8, 9}, {5, 10, 11, 1, 1}}, torch::kLong);
  b.tensors["attention_mask"] = torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}, torch::kLong);
  b.tensors["token_type_ids"] = torch::zeros({2, 5}, torch::kLong);
  return b;
}

}  // namespace

TEST_CASE("model_type chooses the family plugin") {
  for (const auto& [mt, name] : std::vector<std::pair<std::string, std::string>>{{"roberta", "roberta"},
                                                                                  {"xlm-roberta", "xlm_roberta"},
                                                                                  {"camembert", "camembert"},
                                                                                  {"electra", "electra"},
                                                                                  {"distilbert", "distilbert"},
                                                                                  {"albert", "albert"},
                                                                                  {"dpr", "dpr"},
                                                                                  {"bert", "bert"}}) {
    CAPTURE(mt);
    CHECK(registry().language_model_for_model_type(mt).entry.name == name);
  }
}

TEST_CASE("RoBERTa, XLM-RoBERTa and CamemBERT folders match their references (both weight formats)") {
  Checked c = check_family({"roberta-", "xlm-roberta-", "camembert-"});
  CHECK(c.folders >= 4);
  CHECK(c.logits >= 6);  // 3 sequence classifiers + roberta MLM, each from 2 files
  CHECK(c.losses >= 6);
  if (test::have_shared()) {
    CHECK(c.folders == 21);
    CHECK(c.runs == 42);
  }
}

TEST_CASE("ELECTRA folders match their references (discriminator, generator, classifiers)") {
  Checked c = check_family({"electra-"});
  CHECK(c.folders >= 3);
  CHECK(c.logits >= 6);
  CHECK(c.losses >= 6);
  if (test::have_shared()) CHECK(c.folders == 8);
}

TEST_CASE("DistilBERT folders match their references") {
  Checked c = check_family({"distilbert-"});
  CHECK(c.folders >= 2);
  CHECK(c.logits >= 4);
  if (test::have_shared()) CHECK(c.folders == 7);
}

TEST_CASE("ALBERT folders match their references (shared layers, groups, inner layers)") {
  Checked c = check_family({"albert-"});
  CHECK(c.folders >= 3);
  CHECK(c.logits >= 4);
  if (test::have_shared()) CHECK(c.folders == 9);
}

TEST_CASE("DPR encoders match their references; in-batch scores as in dpr_scores.safetensors") {
  Checked c = check_family({"dpr-"});
  CHECK(c.folders >= 1);
  LoadedModel q = load_pretrained(test::fixture("models/dpr-question-encoder"), registry());
  CHECK(q.model->base_model_prefix() == "question_encoder");
  CHECK(q.model->architecture_stem() == "DPRQuestionEncoder");
  CHECK(q.report.unexpected.empty());
  if (!test::have_shared()) return;
  CHECK(c.folders == 2);
  const std::string cdir = test::shared("fixtures/models/dpr-context-encoder");
  LoadedModel ctx = load_pretrained(cdir, registry());
  CHECK(ctx.model->base_model_prefix() == "ctx_encoder");
  torch::NoGradGuard ng;
  StateDict scores = read_safetensors(cdir + "/dpr_scores.safetensors");
  auto qv = q.model->forward(parity::batch_from(read_safetensors(test::fixture("models/dpr-question-encoder/reference.safetensors")))).pooled;
  auto cv = ctx.model->forward(parity::batch_from(read_safetensors(cdir + "/reference.safetensors"))).pooled;
  parity::Tolerance tol;
  parity::check_close(qv, scores.at("question_pooler_output"), tol, "question_pooler_output");
  parity::check_close(cv, scores.at("context_pooler_output"), tol, "context_pooler_output");
  auto s = torch::matmul(qv, cv.t());
  parity::check_close(s, scores.at("scores"), tol, "scores");
  auto nll = -torch::log_softmax(s, 1).diagonal().mean();
  parity::check_close(nll, scores.at("in_batch_nll_loss"), parity::Tolerance{1e-5, 1e-5}, "in_batch_nll_loss");
}

TEST_CASE("masked_lm on BERT, including a modern file without tied tensors") {
  Checked c = check_family({"bert-masked-lm"});
  CHECK(c.logits >= 2);
  CHECK(c.losses >= 2);
  if (test::have_shared()) CHECK(c.folders == 2);
}

TEST_CASE("the masked-LM decoder is tied: gradients reach the word embeddings") {
  LoadedModel m = load_pretrained(test::fixture("models/roberta-masked-lm"), registry());
  auto head = load_hf_head(m, registry(), "mlm");
  REQUIRE(head);
  for (const auto& p : head->named_parameters()) CHECK_MESSAGE(!contains(p.key(), "decoder"), p.key());
  StateDict ref = read_safetensors(test::fixture("models/roberta-masked-lm/reference.safetensors"));
  Batch b = parity::batch_from(ref);
  b.tensors["mlm/label_ids"] = ref.at("input.labels");
  m.model->zero_grad();
  LMOutput out = m.model->forward(b);
  head->loss(head->forward(out, b), b).mean().backward();
  torch::Tensor g;
  for (const auto& p : m.model->named_parameters())
    if (p.key() == "embeddings.word_embeddings.weight") g = p.value().grad();
  REQUIRE(g.defined());
  CHECK(g.abs().sum().item<double>() > 0.0);
}

TEST_CASE("heads refuse families they have no layout for") {
  HeadContext hc;
  hc.task = "t";
  hc.hidden_size = 32;
  hc.model_type = "gpt2";
  hc.hf_config = Value::object();
  hc.hf_config.set("vocab_size", 99);
  auto make = [&](const std::string& name) {
    const auto& e = registry().head(name);
    auto opts = e.entry.make_options();
    return e.entry.make(*opts, hc);
  };
  auto msg = expect_error<ConfigError>([&] { make("masked_lm"); });
  CHECK(contains(msg, "gpt2"));
  CHECK(contains(msg, "roberta"));
  CHECK(contains(msg, "albert"));
  hc.model_type = "bert";
  CHECK(contains(expect_error<ConfigError>([&] { make("electra_discriminator"); }), "electra"));
}

TEST_CASE("an unknown model_type fails naming config.json and the known model types") {
  auto dir = copy_fixture("roberta-sequence-classification");
  Value cfg = read_json_file(dir + "/config.json");
  cfg.set("model_type", "robertta");
  write_json_file(dir + "/config.json", cfg);
  auto msg = expect_error<ConfigError>([&] { load_pretrained(dir, registry()); });
  CHECK(contains(msg, dir + "/config.json"));
  CHECK(contains(msg, "'robertta'"));
  CHECK(contains(msg, "did you mean 'roberta'"));
  for (const char* known : {"albert", "bert", "camembert", "distilbert", "dpr", "electra", "roberta", "xlm-roberta"})
    CHECK_MESSAGE(contains(msg, known), known);
}

TEST_CASE("a checkpoint that does not fit the config lists every mismatch, missing and unused tensor") {
  SUBCASE("shapes (DistilBERT hidden_dim changed)") {
    auto dir = copy_fixture("distilbert-sequence-classification");
    Value cfg = read_json_file(dir + "/config.json");
    cfg.set("hidden_dim", 38);
    write_json_file(dir + "/config.json", cfg);
    auto msg = expect_error<FormatError>([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, dir + "/model.safetensors"));
    CHECK(contains(msg, "6 shape mismatches"));  // lin1.weight, lin1.bias, lin2.weight of 2 layers
    for (const char* t : {"transformer.layer.0.ffn.lin1.weight' has shape [37, 32]", "expects [38, 32]",
                          "transformer.layer.1.ffn.lin2.weight' has shape [32, 37]", "transformer.layer.1.ffn.lin1.bias"})
      CHECK_MESSAGE(contains(msg, t), t);
  }
  SUBCASE("another family's checkpoint: missing and unused tensors are named") {
    auto dir = copy_fixture("electra-sequence-classification");
    Value cfg = read_json_file(dir + "/config.json");
    cfg.set("model_type", "albert");
    write_json_file(dir + "/config.json", cfg);
    auto msg = expect_error<FormatError>([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "required tensors missing"));
    CHECK(contains(msg, "encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"));
    CHECK(contains(msg, "encoder.embedding_hidden_mapping_in.weight"));
    CHECK(contains(msg, "checkpoint tensors unused"));
    CHECK(contains(msg, "electra.encoder.layer.0.attention.self.query.weight"));
  }
  SUBCASE("a tensor removed from an ALBERT checkpoint") {
    auto dir = copy_fixture("albert-inner2-base");
    StateDict sd = read_safetensors(dir + "/model.safetensors");
    StateDict cut;
    for (const auto& [k, t] : sd)
      if (k != "encoder.albert_layer_groups.0.albert_layers.1.ffn_output.bias") cut.set(k, t.clone());
    fs::remove(dir + "/pytorch_model.bin");
    write_safetensors(dir + "/model.safetensors", cut);
    auto msg = expect_error<FormatError>([&] { load_pretrained(dir, registry()); });
    CHECK(contains(msg, "1 required tensors missing: encoder.albert_layer_groups.0.albert_layers.1.ffn_output.bias"));
  }
  SUBCASE("a classification head of the wrong width") {
    auto dir = copy_fixture("roberta-sequence-classification");
    StateDict sd = read_safetensors(dir + "/model.safetensors");
    sd.set("classifier.dense.weight", torch::zeros({32, 31}));
    fs::remove(dir + "/pytorch_model.bin");
    write_safetensors(dir + "/model.safetensors", sd);
    LoadedModel m = load_pretrained(dir, registry());
    auto msg = expect_error<FormatError>([&] { load_hf_head(m, registry()); });
    CHECK(contains(msg, "classifier.dense.weight' has shape [32, 31]"));
    CHECK(contains(msg, "expects [32, 32]"));
  }
}

TEST_CASE("input problems are DataErrors that say what to do") {
  LoadedModel m = load_pretrained(test::fixture("models/roberta-sequence-classification"), registry());
  Batch b;
  b.tensors["input_ids"] = torch::full({1, 39}, 5, torch::kLong);  // positions would reach 1 + 39 = 40
  auto msg = expect_error<DataError>([&] { m.model->forward(b); });
  CHECK(contains(msg, "max_position_embeddings 40"));
  CHECK(contains(msg, "at most 38 tokens"));
  b.tensors["input_ids"] = torch::full({1, 38}, 5, torch::kLong);
  CHECK_NOTHROW(m.model->forward(b));
  b.tensors["token_type_ids"] = torch::ones({1, 38}, torch::kLong);
  CHECK(contains(expect_error<DataError>([&] { m.model->forward(b); }), "type_vocab_size 1"));
}

TEST_CASE("from-scratch models of every family: HF initialisation, forward, save → reload bit-identical") {
  for (const char* mt : {"roberta", "xlm-roberta", "camembert", "electra", "distilbert", "albert", "dpr"}) {
    CAPTURE(mt);
    Value cfg = small_config(mt);
    torch::manual_seed(3);
    auto model = build_from_config(cfg, "", registry());
    {
      torch::NoGradGuard ng;
      for (const auto& p : model->named_parameters()) {
        const std::string& n = p.key();
        CAPTURE(n);
        if (contains(n, "LayerNorm.weight") || contains(n, "layer_norm.weight")) CHECK(torch::equal(p.value(), torch::ones_like(p.value())));
        else if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0) CHECK(torch::equal(p.value(), torch::zeros_like(p.value())));
        else CHECK(std::abs(p.value().std().item<double>() - 0.02) < 0.01);
      }
    }
    model->eval();
    torch::NoGradGuard ng;
    Batch b = small_batch();
    LMOutput out = model->forward(b, ForwardOptions{true, true});
    CHECK(out.sequence.sizes() == torch::IntArrayRef({2, 5, 16}));
    CHECK(out.word_embeddings.defined());
    CHECK(out.hidden_states.size() == (std::string(mt) == "distilbert" ? 3u : 4u));
    Value saved_cfg = model->hf_config();
    CHECK(saved_cfg.at("model_type").as_string() == mt);
    std::string dir = test::temp_dir("scratch") + "/" + mt;
    save_pretrained(dir, *model);
    LoadedModel back = load_pretrained(dir, registry());
    CHECK(back.report.ok());
    CHECK(back.report.unexpected.empty());
    auto a = state_dict_of(*model), c = state_dict_of(*back.model);
    REQUIRE(a.keys() == c.keys());
    for (const auto& [k, t] : a) CHECK_MESSAGE(torch::equal(t, c.at(k)), k);
    CHECK(torch::equal(back.model->forward(b).sequence, model->forward(b).sequence));
  }
}

TEST_CASE("family specifics: ELECTRA without projection, DistilBERT sinusoidal positions, ALBERT sharing") {
  torch::NoGradGuard ng;
  SUBCASE("ELECTRA with embedding_size == hidden_size has no embeddings_project and ignores one in a checkpoint") {
    Value cfg = small_config("electra");
    cfg.set("embedding_size", 16);
    auto model = build_from_config(cfg, "", registry());
    for (const auto& p : model->named_parameters()) CHECK(!contains(p.key(), "embeddings_project"));
    std::string dir = test::temp_dir("electra16") + "/m";
    core::SaveOptions so;
    so.extra_tensors.set("electra.embeddings_project.weight", torch::zeros({16, 16}));
    so.extra_tensors.set("electra.embeddings_project.bias", torch::zeros({16}));
    so.prefix_base_model = true;
    save_pretrained(dir, *model, so);
    LoadedModel back = load_pretrained(dir, registry());
    CHECK(back.report.ok());
    CHECK(back.report.ignored.size() == 2);
  }
  SUBCASE("DistilBERT sinusoidal_pos_embds: fixed, HF formula") {
    Value cfg = small_config("distilbert");
    cfg.set("sinusoidal_pos_embds", true);
    auto model = build_from_config(cfg, "", registry());
    torch::Tensor pe;
    for (const auto& p : model->named_parameters())
      if (p.key() == "embeddings.position_embeddings.weight") pe = p.value();
    REQUIRE(pe.defined());
    CHECK_FALSE(pe.requires_grad());
    for (int64_t pos : {0, 1, 7, 39})
      for (int64_t j : {0, 1, 6, 15}) {
        double angle = pos / std::pow(10000.0, 2.0 * (j / 2) / 16.0);
        double expected = j % 2 == 0 ? std::sin(angle) : std::cos(angle);
        CHECK(pe[pos][j].item<double>() == doctest::Approx(expected).epsilon(1e-6));
      }
  }
  SUBCASE("ALBERT stores one layer per group and inner index, whatever num_hidden_layers is") {
    Value cfg = small_config("albert");
    cfg.set("num_hidden_groups", 2);
    cfg.set("inner_group_num", 2);
    auto model = build_from_config(cfg, "", registry());
    size_t ffn = 0;
    for (const auto& p : model->named_parameters())
      if (contains(p.key(), ".ffn.weight")) ++ffn;
    CHECK(ffn == 4);
    model->eval();
    LMOutput out = model->forward(small_batch(), ForwardOptions{true, true});
    CHECK(out.hidden_states.size() == 4);  // one per layer call + input
    CHECK(out.attentions.size() == 6);     // one per inner layer run
    CHECK(out.pooled.sizes() == torch::IntArrayRef({2, 16}));
  }
  SUBCASE("ALBERT layer i runs group int(i / (layers / groups)): 3 layers, 2 groups → 0, 0, 1") {
    Value cfg = small_config("albert");  // 3 layers
    cfg.set("num_hidden_groups", 2);
    torch::manual_seed(5);
    auto two = build_from_config(cfg, "", registry());
    cfg.set("num_hidden_groups", 3);
    auto three = build_from_config(cfg, "", registry());
    // The 3-group model gets groups (0, 0, 1) of the 2-group model: the same function iff the map is 0, 0, 1.
    StateDict src = state_dict_of(*two), remapped;
    const std::string g = "encoder.albert_layer_groups.";
    for (const auto& [k, t] : src) {
      if (k.rfind(g, 0) != 0) {
        remapped.set(k, t);
        continue;
      }
      const std::string rest = k.substr(g.size() + 2);  // after "<group>."
      if (k[g.size()] == '0') {
        remapped.set(g + "0." + rest, t);
        remapped.set(g + "1." + rest, t);
      } else {
        remapped.set(g + "2." + rest, t);
      }
    }
    LoadReport r = load_into(*three, remapped);
    CHECK(r.ok());
    two->eval();
    three->eval();
    Batch b = small_batch();
    parity::check_close(three->forward(b).sequence, two->forward(b).sequence, parity::Tolerance{1e-6, 1e-5},
                        "3-group copy vs 2-group model");
  }
}
