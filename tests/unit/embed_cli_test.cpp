// graft embed: cls / mean / max / pooled pooling, layer selection, special tokens and padding
// excluded from mean/max, .safetensors and .jsonl output — checked against the encoder run
// directly on the tiny bert-base fixture (given a 99-token vocab.txt here).
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/model_loader.h>
#include <graft/core/registry.h>
#include <graft/core/tokenizers.h>
#include <graft/core/weights.h>

#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

/// bert-base fixture + a vocab.txt matching its 99 ids ([PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4).
std::string model_with_vocab() {
  static std::string dir = [] {
    std::string d = test::temp_dir("embed") + "/bert";
    fs::create_directories(d);
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(test::fixture("models/bert-base/") + f, d + "/" + f);
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (int i = 5; i < 99; ++i) vocab += cat("t", i, "\n");
    write_file_atomic(d + "/vocab.txt", vocab);
    return d;
  }();
  return dir;
}

std::vector<std::vector<float>> read_jsonl(const std::string& path) {
  std::vector<std::vector<float>> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    Value v = parse_json(line, path);
    std::vector<float> e;
    for (const auto& x : v.at("embedding").as_array()) e.push_back(static_cast<float>(x.as_double()));
    out.push_back(e);
  }
  return out;
}

void check_row(const std::vector<float>& got, const torch::Tensor& want, const std::string& what) {
  REQUIRE(static_cast<int64_t>(got.size()) == want.numel());
  auto w = want.contiguous();
  for (int64_t i = 0; i < want.numel(); ++i) {
    INFO(what, " [", i, "]");
    CHECK(got[static_cast<size_t>(i)] == doctest::Approx(w[i].item<float>()).epsilon(1e-4));
  }
}

}  // namespace

TEST_CASE("graft embed pools the encoder's hidden states as documented") {
  const std::string model = model_with_vocab();
  const std::string dir = test::temp_dir("embed_out");
  const std::vector<std::string> texts = {"t5 t6 t7 t8 t9", "t10 t11"};
  write_file_atomic(dir + "/in.txt", texts[0] + "\n\n{\"text\": \"" + texts[1] + "\"}\n");
  const std::string pp = cat("--plugin-path '", test::plugin_dir(), "' embed '", model, "' --file '", dir, "/in.txt' ");

  // the reference: the encoder run directly, one text at a time (no padding)
  Registry& reg = Registry::global({test::plugin_dir()});
  LoadedModel m = load_pretrained(model, reg);
  auto tok = load_tokenizer(model);
  torch::NoGradGuard ng;
  std::vector<LMOutput> ref;
  std::vector<int64_t> lengths;
  for (const auto& t : texts) {
    Encoding e = tok->encode_one(TextInput::single(t));
    REQUIRE(e.tokens.front() == "[CLS]");
    REQUIRE(e.tokens.back() == "[SEP]");
    Batch b;
    b.tensors["input_ids"] = torch::tensor(e.ids, torch::kInt64).unsqueeze(0);
    b.tensors["attention_mask"] = torch::ones_like(b.tensors["input_ids"]);
    b.tensors["token_type_ids"] = torch::zeros_like(b.tensors["input_ids"]);
    ref.push_back(m.model->forward(b, ForwardOptions{true, false}));
    lengths.push_back(static_cast<int64_t>(e.size()));
  }
  for (const char* pooling : {"cls", "mean", "max", "pooled"}) {
    CAPTURE(pooling);
    auto r = test::run_graft(pp + cat("--pooling ", pooling, " --out '", dir, "/", pooling, ".jsonl'"));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    auto rows = read_jsonl(cat(dir, "/", pooling, ".jsonl"));
    REQUIRE(rows.size() == 2);
    for (size_t i = 0; i < 2; ++i) {
      torch::Tensor h = ref[i].sequence[0];                       // [T, H]
      torch::Tensor own = h.slice(0, 1, lengths[i] - 1);          // without [CLS] and [SEP]
      torch::Tensor want = std::string(pooling) == "cls"    ? h[0]
                           : std::string(pooling) == "mean" ? own.mean(0)
                           : std::string(pooling) == "max"  ? std::get<0>(own.max(0))
                                                            : ref[i].pooled[0];
      check_row(rows[i], want, cat(pooling, " row ", i));
    }
  }
  // --layer 1: the hidden state after the first of the two encoder layers, mean-pooled
  auto r = test::run_graft(pp + cat("--layer 1 --out '", dir, "/l1.safetensors'"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  StateDict sd = read_safetensors(dir + "/l1.safetensors");
  torch::Tensor e = sd.at("embeddings");
  REQUIRE(e.sizes() == torch::IntArrayRef({2, 32}));
  for (int64_t i = 0; i < 2; ++i) {
    torch::Tensor own = ref[i].hidden_states.at(1)[0].slice(0, 1, lengths[i] - 1);
    auto want = own.mean(0);
    std::vector<float> got(e[i].data_ptr<float>(), e[i].data_ptr<float>() + 32);
    check_row(got, want, cat("layer 1 row ", i));
  }
  // --normalize gives unit vectors
  r = test::run_graft(pp + cat("--normalize --out '", dir, "/n.safetensors'"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  torch::Tensor n = read_safetensors(dir + "/n.safetensors").at("embeddings");
  CHECK(n.norm(2, {1}).sub(1).abs().max().item<float>() < 1e-5f);

  // errors: exit 2 for bad options, 3 for bad input files
  CHECK(test::run_graft(pp + cat("--layer 7 --out '", dir, "/x.jsonl'")).exit_code == 2);
  CHECK(test::run_graft(pp + cat("--pooling sum --out '", dir, "/x.jsonl'")).exit_code == 2);
  CHECK(test::run_graft(pp + cat("--out '", dir, "/x.txt'")).exit_code == 2);
  auto missing = test::run_graft(cat("--plugin-path '", test::plugin_dir(), "' embed '", model, "' --file '", dir,
                                     "/nope.txt' --out '", dir, "/x.jsonl'"));
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("nope.txt") != std::string::npos);
  CHECK(test::run_graft("embed --help").out.find("--pooling") != std::string::npos);
}
