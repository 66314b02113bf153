// Weight I/O: safetensors (valid + every corrupt case), sharded indexes, pytorch_model.bin
// (fixtures, tied storages, crafted archives with bad pickles), legacy names, load_into.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <caffe2/serialize/inline_container.h>

#include "test_support.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

std::string bytes_of(const std::string& path) { return core::read_file(path); }

/// A safetensors file from a raw JSON header and data bytes.
std::string write_raw_st(const std::string& name, const std::string& header, const std::string& data,
                         int64_t claimed_len = -1) {
  std::string path = test::temp_dir("st") + "/" + name;
  std::string s;
  uint64_t n = claimed_len >= 0 ? static_cast<uint64_t>(claimed_len) : header.size();
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  s += header + data;
  std::ofstream(path, std::ios::binary) << s;
  return path;
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

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// Minimal pickle writer for crafting archives.
struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(char c) { b.push_back(c); return *this; }
  Pickle& global(const std::string& m, const std::string& n) { b += "c" + m + "\n" + n + "\n"; return *this; }
  Pickle& str(const std::string& s) {
    b.push_back('X');
    uint32_t n = s.size();
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    b += s;
    return *this;
  }
  Pickle& int1(int v) { b.push_back('K'); b.push_back(static_cast<char>(v)); return *this; }
  /// OrderedDict() on the stack.
  Pickle& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }
  /// A _rebuild_tensor_v2 call for a 1-D float tensor of `size` elements viewing storage `key` (numel).
  Pickle& tensor(const std::string& key, int numel, int size, const std::string& storage = "FloatStorage") {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", storage).str(key).str("cpu").int1(numel).op('t').op('Q');
    int1(0).int1(size).op('\x85').int1(1).op('\x85').op('\x89').ordered_dict().op('t').op('R');
    return *this;
  }
  std::string done() { return b + "."; }
};

std::string write_archive(const std::string& name, const std::string& pickle,
                          const std::vector<std::pair<std::string, std::string>>& records) {
  std::string dir = test::temp_dir("bin");
  std::string path = dir + "/" + name;
  caffe2::serialize::PyTorchStreamWriter w(path);
  w.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [k, v] : records) w.writeRecord(k, v.data(), v.size());
  w.writeEndOfFile();
  return path;
}

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

}  // namespace

TEST_CASE("safetensors round trip keeps dtypes, shapes, values and order; header is HF-style") {
  StateDict sd;
  sd.set("z.f32", torch::randn({3, 4}));
  sd.set("a.f64", torch::randn({2}, torch::kFloat64));
  sd.set("m.i64", torch::arange(5, torch::kLong).view({1, 5}));
  sd.set("b.i32", torch::tensor({1, -2, 3}, torch::kInt32));
  sd.set("c.u8", torch::tensor({0, 255}, torch::kUInt8));
  sd.set("d.bool", torch::tensor({true, false}));
  sd.set("e.scalar", torch::tensor(3.5f));
  sd.set("f.empty", torch::zeros({0, 3}));
  sd.set("g.noncontig", torch::randn({4, 3}).t());
  std::string path = test::temp_dir("rt") + "/model.safetensors";
  write_safetensors(path, sd);

  std::string raw = bytes_of(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  CHECK(n % 8 == 0);
  CHECK(raw.substr(8, 31) == "{\"__metadata__\":{\"format\":\"pt\"}");
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    CHECK(e.path().filename() == "model.safetensors");  // no temp file left behind

  StateDict back = read_safetensors(path);
  REQUIRE(back.keys() == sd.keys());
  for (const auto& [k, t] : sd) {
    CHECK_MESSAGE((back.at(k).scalar_type() == t.scalar_type()), std::string(k));
    CHECK_MESSAGE(torch::equal(back.at(k), t), std::string(k));
  }
  CHECK(back.source() == path);
}

TEST_CASE("safetensors tensors are memory-mapped copy-on-write: writing to them leaves the file unchanged") {
  StateDict sd;
  sd.set("w", torch::ones({4}));
  std::string path = test::temp_dir("cow") + "/w.safetensors";
  write_safetensors(path, sd);
  std::string before = bytes_of(path);
  {
    StateDict a = read_safetensors(path);
    torch::Tensor w = a.at("w");
    w.mul_(7);
    CHECK(w[0].item<float>() == 7.0f);
  }
  CHECK(bytes_of(path) == before);
  CHECK(read_safetensors(path).at("w")[0].item<float>() == 1.0f);
}

TEST_CASE("float16 and bfloat16 safetensors become float32 exactly (unless asked not to)") {
  StateDict sd;
  auto f = torch::tensor({1.5f, -2.25f, 0.0009765625f, 65504.0f});
  sd.set("h", f.to(torch::kFloat16));
  sd.set("b", f.to(torch::kBFloat16));
  sd.set("ids", torch::arange(3, torch::kLong));
  std::string path = test::temp_dir("half") + "/x.safetensors";
  write_safetensors(path, sd);
  StateDict up = read_safetensors(path);
  CHECK((up.at("h").scalar_type() == torch::kFloat32));
  CHECK((up.at("b").scalar_type() == torch::kFloat32));
  CHECK((up.at("ids").scalar_type() == torch::kLong));
  CHECK(torch::equal(up.at("h"), f.to(torch::kFloat16).to(torch::kFloat32)));
  CHECK(torch::equal(up.at("b"), f.to(torch::kBFloat16).to(torch::kFloat32)));
  ReadOptions keep;
  keep.upcast_half = false;
  CHECK((read_safetensors(path, keep).at("h").scalar_type() == torch::kFloat16));
}

TEST_CASE("corrupt safetensors files are FormatErrors naming the file and the tensor/field") {
  const std::string ok_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data8(8, '\0');

  SUBCASE("shorter than the length prefix") {
    std::string path = test::temp_dir("st") + "/short.safetensors";
    std::ofstream(path, std::ios::binary) << "abc";
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "too short"));
  }
  SUBCASE("header length beyond the file size") {
    auto path = write_raw_st("long.safetensors", ok_header, data8, 1 << 20);
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "header length 1048576"));
  }
  SUBCASE("header is not JSON") {
    auto path = write_raw_st("json.safetensors", "{\"w\": [", data8);
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, "not valid JSON"));
  }
  SUBCASE("unknown dtype") {
    auto path = write_raw_st("dtype.safetensors", R"({"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}})", data8);
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, "'w'"));
    CHECK(contains(msg, "F17"));
    CHECK(contains(msg, "dtype"));
  }
  SUBCASE("data_offsets beyond the data") {
    auto path = write_raw_st("off.safetensors", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data8);
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, "'w'"));
    CHECK(contains(msg, "data_offsets"));
    CHECK(contains(msg, "out of range"));
  }
  SUBCASE("dtype x shape disagrees with the byte range") {
    auto path = write_raw_st("size.safetensors", R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8);
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, "'w'"));
    CHECK(contains(msg, "needs 12 bytes"));
  }
  SUBCASE("overlapping tensors") {
    auto path = write_raw_st("overlap.safetensors",
                             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                             data8);
    auto msg = expect_format_error([&] { read_safetensors(path); });
    CHECK(contains(msg, "overlap"));
  }
  SUBCASE("a field is missing or has the wrong type") {
    auto p1 = write_raw_st("noshape.safetensors", R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", data8);
    auto m1 = expect_format_error([&] { read_safetensors(p1); });
    CHECK(contains(m1, "'w' has no 'shape'"));
    auto p2 = write_raw_st("neg.safetensors", R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8);
    CHECK(contains(expect_format_error([&] { read_safetensors(p2); }), "shape"));
    auto p3 = write_raw_st("trail.safetensors", ok_header, data8 + "xxxx");
    CHECK(contains(expect_format_error([&] { read_safetensors(p3); }), "data section has 12"));
  }
  SUBCASE("missing file") {
    auto msg = expect_format_error([&] { read_safetensors("/nonexistent/model.safetensors"); });
    CHECK(contains(msg, "/nonexistent/model.safetensors"));
  }
}

TEST_CASE("sharded safetensors: merged in shard order; missing shards and misplaced tensors are errors") {
  std::string dir = test::temp_dir("shard");
  StateDict a, b;
  a.set("x", torch::randn({2, 2}));
  b.set("y", torch::randn({3}));
  write_safetensors(dir + "/model-00001-of-00002.safetensors", a);
  write_safetensors(dir + "/model-00002-of-00002.safetensors", b);
  auto index = [&](const std::string& wm) {
    core::write_file_atomic(dir + "/model.safetensors.index.json", R"({"metadata":{"total_size":28},"weight_map":)" + wm + "}");
    return dir + "/model.safetensors.index.json";
  };
  StateDict sd = read_sharded(index(R"({"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"})"));
  CHECK(sd.keys() == std::vector<std::string>{"x", "y"});
  CHECK(torch::equal(sd.at("y"), b.at("y")));
  CHECK(find_weights_file(dir) == dir + "/model.safetensors.index.json");

  auto m1 = expect_format_error([&] { read_sharded(index(R"({"x":"model-00003-of-00002.safetensors"})")); });
  CHECK(contains(m1, "model-00003-of-00002.safetensors"));
  CHECK(contains(m1, "does not exist"));
  auto m2 = expect_format_error([&] { read_sharded(index(R"({"y":"model-00001-of-00002.safetensors"})")); });
  CHECK(contains(m2, "'y'"));
  auto m3 = expect_format_error([&] { read_sharded(index(R"({"weights":[]})")); });
  CHECK(contains(m3, "weight_map"));
}

TEST_CASE("pytorch_model.bin of the fixtures equals model.safetensors bit for bit") {
  std::vector<std::string> dirs = {test::fixture("models/bert-base"), test::fixture("models/bert-sequence-classification")};
  if (test::have_shared())
    for (const auto& e : fs::directory_iterator(test::shared("fixtures/models")))
      if (fs::exists(e.path() / "pytorch_model.bin") && fs::exists(e.path() / "model.safetensors"))
        dirs.push_back(e.path().string());
  for (const auto& dir : dirs) {
    CAPTURE(dir);
    StateDict bin = read_pytorch_bin(dir + "/pytorch_model.bin");
    StateDict st = read_safetensors(dir + "/model.safetensors");
    CHECK(bin.size() == st.size());
    for (const auto& [k, t] : st) {
      const torch::Tensor* b = bin.find(k);
      REQUIRE_MESSAGE(b, std::string(k));
      CHECK_MESSAGE((b->scalar_type() == t.scalar_type()), std::string(k));
      CHECK_MESSAGE(torch::equal(*b, t), std::string(k));
    }
  }
}

TEST_CASE("tied tensors in pytorch_model.bin share one storage") {
  StateDict sd = read_pytorch_bin(test::fixture("models/bert-masked-lm/pytorch_model.bin"));
  const auto& dec = sd.at("cls.predictions.decoder.weight");
  const auto& emb = sd.at("bert.embeddings.word_embeddings.weight");
  CHECK(dec.data_ptr() == emb.data_ptr());
  CHECK(sd.at("cls.predictions.decoder.bias").data_ptr() == sd.at("cls.predictions.bias").data_ptr());
  CHECK(sd.size() == 45);
}

TEST_CASE("crafted pytorch_model.bin archives: valid tensors load, everything else is a FormatError") {
  SUBCASE("a valid minimal state dict, including a tied view") {
    Pickle p;
    p.ordered_dict().op('(').str("w").tensor("0", 3, 3).str("tail").tensor("0", 3, 2).op('u');
    auto path = write_archive("ok.bin", p.done(), {{"data/0", floats({1.f, 2.f, 3.f})}});
    StateDict sd = read_pytorch_bin(path);
    REQUIRE(sd.keys() == std::vector<std::string>{"w", "tail"});
    CHECK(torch::equal(sd.at("w"), torch::tensor({1.f, 2.f, 3.f})));
    CHECK(sd.at("tail").data_ptr() == sd.at("w").data_ptr());
  }
  SUBCASE("a global outside the allow-list") {
    Pickle p;
    p.global("os", "system").str("echo hi").op('\x85').op('R');
    auto path = write_archive("evil.bin", p.done(), {});
    auto msg = expect_format_error([&] { read_pytorch_bin(path); });
    CHECK(contains(msg, path));
    CHECK(contains(msg, "'os.system' is not allowed"));
  }
  SUBCASE("an opcode a state dict never uses") {
    Pickle p;
    p.op('\x81');  // NEWOBJ
    auto msg = expect_format_error([&] { read_pytorch_bin(write_archive("op.bin", p.done(), {})); });
    CHECK(contains(msg, "unsupported pickle opcode 0x81"));
  }
  SUBCASE("a truncated pickle") {
    auto msg = expect_format_error([&] { read_pytorch_bin(write_archive("trunc.bin", "\x80\x02}q\x00X\x05\x00\x00\x00ab", {})); });
    CHECK(contains(msg, "truncated pickle"));
  }
  SUBCASE("storage record smaller than declared") {
    Pickle p;
    p.ordered_dict().str("w").tensor("0", 10, 10).op('s');
    auto msg = expect_format_error([&] { read_pytorch_bin(write_archive("small.bin", p.done(), {{"data/0", floats({1.f, 2.f})}})); });
    CHECK(contains(msg, "'w'"));
    CHECK(contains(msg, "data/0"));
  }
  SUBCASE("view beyond its storage") {
    Pickle p;
    p.ordered_dict().str("w").tensor("0", 2, 5).op('s');
    auto msg = expect_format_error([&] { read_pytorch_bin(write_archive("view.bin", p.done(), {{"data/0", floats({1.f, 2.f})}})); });
    CHECK(contains(msg, "'w'"));
    CHECK(contains(msg, "storage with 2 elements"));
  }
  SUBCASE("missing storage record") {
    Pickle p;
    p.ordered_dict().str("w").tensor("7", 2, 2).op('s');
    auto msg = expect_format_error([&] { read_pytorch_bin(write_archive("norec.bin", p.done(), {})); });
    CHECK(contains(msg, "data/7"));
  }
  SUBCASE("a value that is not a tensor") {
    Pickle p;
    p.ordered_dict().str("w").int1(3).op('s');
    auto msg = expect_format_error([&] { read_pytorch_bin(write_archive("int.bin", p.done(), {})); });
    CHECK(contains(msg, "'w' is a int, expected a tensor"));
  }
}

TEST_CASE("truncated, non-zip and legacy pytorch_model.bin files are FormatErrors naming the file") {
  std::string dir = test::temp_dir("badbin");
  std::string full = bytes_of(test::fixture("models/bert-base/pytorch_model.bin"));
  std::string trunc = dir + "/truncated.bin";
  std::ofstream(trunc, std::ios::binary) << full.substr(0, full.size() / 2);
  auto m1 = expect_format_error([&] { read_pytorch_bin(trunc); });
  CHECK(contains(m1, trunc));
  std::string junk = dir + "/junk.bin";
  std::ofstream(junk, std::ios::binary) << "this is not a zip file";
  CHECK(contains(expect_format_error([&] { read_pytorch_bin(junk); }), "not a zip archive"));
  std::string legacy = dir + "/legacy.bin";
  std::ofstream(legacy, std::ios::binary) << std::string("\x80\x02\x8a\x0a", 4) << "xxxxxxxxxx";
  CHECK(contains(expect_format_error([&] { read_pytorch_bin(legacy); }), "legacy"));
}

TEST_CASE("legacy gamma/beta names follow transformers 4.7.0") {
  StateDict sd;
  sd.set("enc.LayerNorm.gamma", torch::ones({2}));
  sd.set("enc.LayerNorm.beta", torch::zeros({2}));
  sd.set("x.beta.gamma", torch::zeros({1}));  // both: the beta rule wins, applied to the original key
  sd.set("plain.weight", torch::zeros({1}));
  CHECK(rename_legacy_keys(sd) == 3);
  CHECK(sd.keys() == std::vector<std::string>{"enc.LayerNorm.weight", "enc.LayerNorm.bias", "x.bias.gamma", "plain.weight"});
  if (test::have_shared()) {
    const std::string dir = test::shared("fixtures/models/bert-sequence-classification-legacy-names");
    for (const char* f : {"/pytorch_model.bin", "/model.safetensors"}) {
      StateDict legacy = read_weights(dir + f);
      CHECK(rename_legacy_keys(legacy) > 0);
      StateDict ref = read_safetensors(test::shared("fixtures/models/bert-sequence-classification/model.safetensors"));
      CHECK(legacy.size() == ref.size());
      for (const auto& [k, t] : ref) CHECK_MESSAGE(legacy.contains(k), std::string(k));
    }
  }
}

namespace {
struct Toy : torch::nn::Module {
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  Toy() {
    dense = register_module("dense", torch::nn::Linear(2, 3));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({3})));
  }
};
}  // namespace

TEST_CASE("load_into copies by name, prefers prefixed keys, and reports missing/unexpected/mis-shaped keys by name") {
  Toy toy;
  StateDict sd;
  sd.set_source("ckpt.safetensors");
  sd.set("enc.dense.weight", torch::full({3, 2}, 2.0));
  sd.set("dense.weight", torch::full({3, 2}, 9.0));  // bare duplicate: the prefixed key wins
  sd.set("dense.bias", torch::full({3}, 1.0, torch::kFloat64));
  sd.set("enc.norm.weight", torch::full({3}, 0.5));
  sd.set("enc.position_ids", torch::arange(3));
  sd.set("classifier.weight", torch::zeros({1}));

  LoadOptions lo;
  lo.prefixes = {"enc"};
  lo.ignored_keys = {"position_ids"};
  lo.strict = false;
  LoadReport r = load_into(toy, sd, lo);
  CHECK(torch::equal(toy.dense->weight, torch::full({3, 2}, 2.0f)));
  CHECK(torch::equal(toy.dense->bias, torch::full({3}, 1.0f)));
  CHECK(torch::equal(toy.norm->weight, torch::full({3}, 0.5f)));
  CHECK(r.missing == std::vector<std::string>{"norm.bias"});
  CHECK(r.unexpected == std::vector<std::string>{"dense.weight", "classifier.weight"});
  CHECK(r.ignored == std::vector<std::string>{"enc.position_ids"});
  CHECK(r.loaded.size() == 3);

  SUBCASE("strict: a missing required tensor is named") {
    lo.strict = true;
    auto msg = expect_format_error([&] { load_into(toy, sd, lo); });
    CHECK(contains(msg, "ckpt.safetensors"));
    CHECK(contains(msg, "norm.bias"));
  }
  SUBCASE("strict with an optional prefix passes and still reports") {
    lo.strict = true;
    lo.optional_prefixes = {"norm."};
    CHECK(load_into(toy, sd, lo).missing == std::vector<std::string>{"norm.bias"});
  }
  SUBCASE("a shape mismatch names both sides") {
    sd.set("norm.bias", torch::zeros({4}));
    lo.strict = true;
    auto msg = expect_format_error([&] { load_into(toy, sd, lo); });
    CHECK(contains(msg, "'norm.bias' has shape [4]"));
    CHECK(contains(msg, "expects [3]"));
  }
  SUBCASE("state_dict_of round trip") {
    StateDict own = state_dict_of(toy, "enc");
    CHECK(own.contains("enc.dense.weight"));
    Toy other;
    LoadOptions plain;
    plain.prefixes = {"enc"};
    CHECK(load_into(other, own, plain).ok());
    CHECK(torch::equal(other.dense->weight, toy.dense->weight));
  }
}

TEST_CASE("find_weights_file prefers safetensors and names the directory when nothing is there") {
  CHECK(find_weights_file(test::fixture("models/bert-base")) == test::fixture("models/bert-base") + "/model.safetensors");
  std::string empty = test::temp_dir("noweights");
  auto msg = expect_format_error([&] { find_weights_file(empty); });
  CHECK(contains(msg, empty));
  CHECK(contains(msg, "model.safetensors"));
}
