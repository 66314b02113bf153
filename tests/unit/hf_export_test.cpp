// HF export: the pytorch_model.bin writer (round trip through our reader for every dtype, tied
// storages, views; the zip layout torch writes; the pickle stream checked by Python's stdlib
// when python3 is there) and `graft export --hf` (single task, several tasks, a head without an
// HF equivalent, dtypes; reload with graft gives identical outputs; CLI errors).
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/hf_export.h>
#include <graft/core/inferencer.h>
#include <graft/core/json.h>
#include <graft/core/model_dir.h>
#include <graft/core/model_loader.h>
#include <graft/core/registry.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include "test_support.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry();
    reg->load_plugin(test::plugin_dir() + "/libgraft_bert.so");
    reg->load_plugin(test::plugin_dir() + "/libgraft_text_classification.so");
    return reg;
  }();
  return *r;
}

uint32_t le(const std::string& b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

struct ZipRecord {
  std::string name;
  uint32_t method;
  size_t data_offset;
  uint32_t size;
};

/// The records of a (non-zip64) archive from its central directory, in file order, with where
/// each one's data starts (after its local header).
std::vector<ZipRecord> zip_records(const std::string& path) {
  const std::string b = read_file(path);
  std::vector<ZipRecord> out;
  size_t eocd = b.rfind(std::string("PK\x05\x06", 4));
  REQUIRE(eocd != std::string::npos);
  const uint32_t count = le(b, eocd + 10, 2);
  size_t at = le(b, eocd + 16, 4);
  for (uint32_t i = 0; i < count; ++i) {
    REQUIRE(le(b, at, 4) == 0x02014b50);
    ZipRecord r;
    r.method = le(b, at + 10, 2);
    r.size = le(b, at + 20, 4);
    const uint32_t nlen = le(b, at + 28, 2), xlen = le(b, at + 30, 2), clen = le(b, at + 32, 2);
    const uint32_t local = le(b, at + 42, 4);
    r.name = b.substr(at + 46, nlen);
    REQUIRE(le(b, local, 4) == 0x04034b50);
    r.data_offset = local + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
    out.push_back(r);
    at += 46 + nlen + xlen + clen;
  }
  return out;
}

bool have_python() { return std::system("python3 -c 'import pickletools, zipfile' >/dev/null 2>&1") == 0; }

/// A stdlib-only stand-in for torch.load: opens the zip, disassembles data.pkl with pickletools,
/// unpickles it with only torch.load's globals allowed and storages read from data/<key>, and
/// prints per tensor: storage class, key, numel, offset, size, stride, the first element.
const char* kPyCheck = R"PY(
import collections, io, json, pickle, pickletools, struct, sys, zipfile
path = sys.argv[1]
z = zipfile.ZipFile(path)
names = z.namelist()
prefix = names[0].split('/')[0]
assert all(n.startswith(prefix + '/') for n in names), names
assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
pk = z.read(prefix + '/data.pkl')
assert pk[:2] == b'\x80\x02', 'not protocol 2'
pickletools.dis(pk, out=io.StringIO())
classes = {}
def rebuild(storage, offset, size, stride, requires_grad, hooks):
    assert requires_grad is False and isinstance(hooks, collections.OrderedDict)
    return dict(storage=storage, offset=offset, size=list(size), stride=list(stride))
FMT = {'FloatStorage': ('<f', 4), 'HalfStorage': ('<e', 2), 'LongStorage': ('<q', 8), 'DoubleStorage': ('<d', 8),
       'IntStorage': ('<i', 4), 'BFloat16Storage': (None, 2), 'ByteStorage': ('<B', 1), 'BoolStorage': ('<?', 1)}
class U(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('collections', 'OrderedDict'): return collections.OrderedDict
        if (module, name) == ('torch._utils', '_rebuild_tensor_v2'): return rebuild
        if module == 'torch' and name in FMT: return classes.setdefault(name, type(name, (), {}))
        raise pickle.UnpicklingError('global %s.%s is not allowed' % (module, name))
    def persistent_load(self, pid):
        kind, cls, key, location, numel = pid
        assert kind == 'storage' and location == 'cpu'
        data = z.read('%s/data/%s' % (prefix, key))
        assert len(data) == numel * FMT[cls.__name__][1], (key, len(data), numel)
        return dict(cls=cls.__name__, key=key, numel=numel, data=data)
sd = U(io.BytesIO(pk)).load()
assert type(sd) is collections.OrderedDict
out = collections.OrderedDict()
for k, t in sd.items():
    s = t['storage']
    fmt, size = FMT[s['cls']]
    first = None
    if s['numel'] > t['offset']:
        raw = s['data'][t['offset'] * size:(t['offset'] + 1) * size]
        first = struct.unpack('<f', b'\x00\x00' + raw)[0] if fmt is None else struct.unpack(fmt, raw)[0]
    out[k] = dict(cls=s['cls'], key=s['key'], numel=s['numel'], offset=t['offset'], size=t['size'],
                  stride=t['stride'], first=first)
print(json.dumps(dict(prefix=prefix, version=z.read(prefix + '/version').decode().strip(), tensors=out)))
)PY";

Value python_view(const std::string& bin) {
  const std::string dir = test::temp_dir("py");
  write_file_atomic(dir + "/check.py", kPyCheck);
  const std::string out = dir + "/out.json";
  int rc = std::system(("python3 '" + dir + "/check.py' '" + bin + "' > '" + out + "' 2> '" + dir + "/err.txt'").c_str());
  REQUIRE_MESSAGE(rc == 0, read_file(dir + "/err.txt"));
  return read_json_file(out);
}

void check_same(const StateDict& a, const StateDict& b) {
  REQUIRE(a.keys() == b.keys());
  for (const auto& [k, t] : a) {
    CAPTURE(k);
    const torch::Tensor& u = b.at(k);
    CHECK((u.scalar_type() == t.scalar_type()));
    CHECK((u.sizes() == t.sizes()));
    CHECK(torch::equal(u, t.to(torch::kCPU)));
  }
}

/// The fixture BertForSequenceClassification plus a tokenizer (vocab.txt), in a temp dir.
std::string fixture_model_with_tokenizer() {
  const std::string dir = test::temp_dir("model") + "/bert-seq";
  fs::create_directories(dir);
  const std::string src = test::fixture("models/bert-sequence-classification");
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(src + "/" + f, dir + "/" + f);
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (int i = 5; i < 99; ++i) vocab += "w" + std::to_string(i) + "\n";
  write_file_atomic(dir + "/vocab.txt", vocab);
  write_file_atomic(dir + "/tokenizer_config.json", R"({"do_lower_case": true, "model_max_length": 40})");
  return dir;
}

const std::vector<std::string> kTexts = {"w5 w6 w7", "w42 w17 w98 w11 w3", "w9", "unknown words w20 w21"};

std::vector<Value> predict(ModelBundle bundle, const std::string& task = "") {
  Inferencer inf(std::move(bundle));
  return inf.infer_texts(kTexts, {}, task);
}

void check_identical(const std::vector<Value>& a, const std::vector<Value>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].dump_json() == b[i].dump_json());
}

/// A head with no Hugging Face equivalent (hf_export() empty).
class NoHfHead : public PredictionHead {
 public:
  NoHfHead() { proj_ = register_module("proj", torch::nn::Linear(32, 2)); }
  torch::Tensor forward(const LMOutput& lm, const Batch&) override { return proj_(lm.pooled); }
  torch::Tensor loss(const torch::Tensor& logits, const Batch&) override { return logits.sum(-1); }
  Value format(const Basket&, const std::vector<torch::Tensor>&) const override { return Value::object(); }
  Value prediction_for_metric(const Value& v) const override { return v; }
  Value gold_for_metric(const Basket&) const override { return Value(); }
  void init_weights(double) override {}

 private:
  torch::nn::Linear proj_{nullptr};
};

}  // namespace

TEST_CASE("pytorch_model.bin writer → reader: every dtype, views and tied storages survive exactly") {
  torch::manual_seed(3);
  StateDict sd;
  torch::Tensor base = torch::randn({4, 6});
  sd.set("f32", base);
  sd.set("f32.view_of_row", base[2]);                  // shares base's storage, offset 12
  sd.set("f32.transposed", base.t());                  // shares, non-contiguous strides
  sd.set("f16", torch::randn({3, 5}).to(torch::kFloat16));
  sd.set("bf16", torch::randn({7}).to(torch::kBFloat16));
  sd.set("i64", torch::arange(0, 300000, 1000, torch::kInt64) - int64_t{5000000000});  // 300 elements: BININT2 sizes
  sd.set("f64.scalar", torch::tensor(2.5, torch::kFloat64));
  sd.set("empty", torch::empty({0, 3}));
  sd.set("u8", torch::tensor({1, 2, 255}, torch::kUInt8));
  sd.set("bool", torch::tensor({true, false}));

  const std::string path = test::temp_dir("bin") + "/pytorch_model.bin";
  write_pytorch_bin(path, sd);
  ReadOptions keep;
  keep.upcast_half = false;
  StateDict back = read_pytorch_bin(path, keep);
  check_same(sd, back);
  CHECK(back.at("f32.view_of_row").data_ptr() == static_cast<float*>(back.at("f32").data_ptr()) + 12);
  CHECK(back.at("f32.transposed").data_ptr() == back.at("f32").data_ptr());
  CHECK((back.at("f32.transposed").strides().vec() == std::vector<int64_t>{1, 6}));

  // torch's layout: stored records under "<file stem>/", data 64-byte aligned, version last
  auto recs = zip_records(path);
  REQUIRE(recs.size() == 2 + 8 + 1);  // data.pkl, byteorder, 8 storages, version
  CHECK(recs.front().name == "pytorch_model/data.pkl");
  CHECK(recs.back().name == "pytorch_model/version");
  for (const auto& r : recs) {
    CAPTURE(r.name);
    CHECK(r.name.rfind("pytorch_model/", 0) == 0);
    CHECK(r.method == 0);
    CHECK(r.data_offset % 64 == 0);
  }
  CHECK(read_file(path).find("pytorch_model/data/7") != std::string::npos);

  if (!have_python()) {
    MESSAGE("python3 not found: the stdlib pickle check is skipped");
    return;
  }
  Value py = python_view(path);
  CHECK(py.at("prefix").as_string() == "pytorch_model");
  CHECK(py.at("version").as_string() == "3");
  const Value& t = py.at("tensors");
  REQUIRE(t.size() == sd.size());
  CHECK(t.at("f32").at("cls").as_string() == "FloatStorage");
  CHECK(t.at("f32.view_of_row").at("key").as_string() == t.at("f32").at("key").as_string());
  CHECK(t.at("f32.view_of_row").at("offset").as_int() == 12);
  CHECK(t.at("f32.transposed").at("stride") == Value(std::vector<int64_t>{1, 6}));
  CHECK(t.at("f16").at("cls").as_string() == "HalfStorage");
  CHECK(t.at("bf16").at("cls").as_string() == "BFloat16Storage");
  CHECK(t.at("i64").at("cls").as_string() == "LongStorage");
  CHECK(t.at("i64").at("first").as_int() == -5000000000LL);
  CHECK(t.at("f64.scalar").at("size").size() == 0);
  CHECK(t.at("f64.scalar").at("first").as_double() == 2.5);
  CHECK(t.at("f32").at("first").as_double() == doctest::Approx(base[0][0].item<double>()).epsilon(1e-7));
  CHECK(t.at("bf16").at("first").as_double() == sd.at("bf16")[0].to(torch::kFloat32).item<double>());
  CHECK(t.at("f16").at("first").as_double() == sd.at("f16")[0][0].to(torch::kFloat32).item<double>());
}

TEST_CASE("pytorch_model.bin writer: HF fixtures (incl. tied decoder/embeddings) round-trip bit for bit") {
  std::vector<std::string> dirs = {test::fixture("models/bert-base"), test::fixture("models/bert-masked-lm")};
  if (test::have_shared())
    for (const auto& e : fs::directory_iterator(test::shared("fixtures/models")))
      if (fs::exists(e.path() / "pytorch_model.bin")) dirs.push_back(e.path().string());
  for (const auto& dir : dirs) {
    CAPTURE(dir);
    ReadOptions keep;
    keep.upcast_half = false;
    StateDict orig = read_pytorch_bin(dir + "/pytorch_model.bin", keep);
    const std::string path = test::temp_dir("bin") + "/pytorch_model.bin";
    write_pytorch_bin(path, orig);
    StateDict back = read_pytorch_bin(path, keep);
    check_same(orig, back);
    if (orig.contains("cls.predictions.decoder.weight")) {
      CHECK(back.at("cls.predictions.decoder.weight").data_ptr() == back.at("bert.embeddings.word_embeddings.weight").data_ptr());
      // one storage per distinct storage of the original
      std::set<const void*> a, b;
      for (const auto& [k, t] : orig) a.insert(t.storage().data());
      for (const auto& [k, t] : back) b.insert(t.storage().data());
      CHECK(a.size() == b.size());
    }
  }
}

TEST_CASE("pytorch_model.bin writer: bad input is a clear error and leaves no file") {
  const std::string dir = test::temp_dir("binbad");
  StateDict sd;
  sd.set("c", torch::randn({2}, torch::kComplexFloat));
  try {
    write_pytorch_bin(dir + "/pytorch_model.bin", sd);
    FAIL("expected a FormatError");
  } catch (const FormatError& e) {
    CHECK(contains(e.what(), "'c'"));
    CHECK(contains(e.what(), "storage class"));
  }
  StateDict und;
  und.set("u", torch::Tensor());
  CHECK_THROWS_AS(write_pytorch_bin(dir + "/pytorch_model.bin", und), FormatError);
  CHECK(fs::is_empty(dir));
}

TEST_CASE("export --hf of a single-task model: an HF *ForSequenceClassification dir; reload gives identical outputs") {
  const std::string src = fixture_model_with_tokenizer();
  ModelBundle orig = load_model_dir(src, registry());
  const std::string out = test::temp_dir("export") + "/hf";
  HfExportResult r = export_hf(orig, out);
  REQUIRE(r.dirs.size() == 1);
  CHECK(r.dirs[0].path == out);
  CHECK(r.dirs[0].architecture == "BertForSequenceClassification");
  CHECK(r.skipped.empty());
  for (const char* f : {"config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt", "tokenizer_config.json",
                        "special_tokens_map.json"})
    CHECK_MESSAGE(fs::exists(out + "/" + f), f);
  CHECK(!fs::exists(out + "/graft.toml"));

  Value cfg = read_json_file(out + "/config.json");
  CHECK(cfg.at("architectures") == Value(std::vector<std::string>{"BertForSequenceClassification"}));
  CHECK(cfg.at("id2label").at("2").as_string() == "LABEL_2");
  CHECK(cfg.at("label2id").at("LABEL_1").as_int() == 1);
  CHECK(cfg.at("problem_type").as_string() == "single_label_classification");
  CHECK(cfg.at("torch_dtype").as_string() == "float32");
  CHECK(cfg.at("model_type").as_string() == "bert");

  // the same tensors, under the HF names, in both files
  StateDict st = read_safetensors(out + "/model.safetensors");
  StateDict bin = read_pytorch_bin(out + "/pytorch_model.bin");
  check_same(st, bin);
  StateDict fixture = read_safetensors(src + "/model.safetensors");
  for (const auto& [k, t] : st) {
    CAPTURE(k);
    const torch::Tensor* f = fixture.find(k);
    REQUIRE(f != nullptr);
    CHECK(torch::equal(*f, t));
  }
  CHECK(st.contains("bert.encoder.layer.1.output.LayerNorm.weight"));
  CHECK(st.contains("classifier.weight"));

  // reload through both weight files: identical predictions
  auto expected = predict(orig);
  check_identical(predict(load_model_dir(out, registry())), expected);
  fs::remove(out + "/model.safetensors");
  check_identical(predict(load_model_dir(out, registry())), expected);

  if (have_python()) {
    Value py = python_view(out + "/pytorch_model.bin");
    CHECK(py.at("tensors").size() == bin.size());
    CHECK(py.at("tensors").at("classifier.weight").at("cls").as_string() == "FloatStorage");
  }
}

TEST_CASE("export --hf in fp16 / bf16: float tensors converted, torch_dtype set, reload close") {
  const std::string src = fixture_model_with_tokenizer();
  ModelBundle orig = load_model_dir(src, registry());
  for (const auto& [name, dtype, hf] : std::vector<std::tuple<std::string, torch::ScalarType, std::string>>{
           {"fp16", torch::kFloat16, "float16"}, {"bf16", torch::kBFloat16, "bfloat16"}}) {
    CAPTURE(name);
    const std::string out = test::temp_dir("export") + "/" + name;
    HfExportOptions o;
    o.dtype = name;
    export_hf(orig, out, o);
    CHECK(read_json_file(out + "/config.json").at("torch_dtype").as_string() == hf);
    ReadOptions keep;
    keep.upcast_half = false;
    StateDict st = read_safetensors(out + "/model.safetensors", keep);
    StateDict bin = read_pytorch_bin(out + "/pytorch_model.bin", keep);
    check_same(st, bin);
    for (const auto& [k, t] : st) {
      CAPTURE(k);
      if (k.find("position_ids") != std::string::npos)
        CHECK((t.scalar_type() == torch::kInt64));
      else
        CHECK((t.scalar_type() == dtype));
    }
    auto a = predict(orig), b = predict(load_model_dir(out, registry()));
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].at("label") == b[i].at("label"));
      CHECK(b[i].at("probability").as_double() == doctest::Approx(a[i].at("probability").as_double()).epsilon(0.02));
    }
  }
  HfExportOptions bad;
  bad.dtype = "int8";
  CHECK_THROWS_AS(export_hf(orig, test::temp_dir("export") + "/x", bad), ConfigError);
}

TEST_CASE("export --hf of several tasks: the LM in OUT, one HF checkpoint per exportable head") {
  const std::string src = fixture_model_with_tokenizer();
  ModelBundle single = load_model_dir(src, registry());
  LoadedModel loaded = load_pretrained(src, registry());
  auto head_a = load_hf_head(loaded, registry(), "a");
  auto head_b = load_hf_head(loaded, registry(), "b");
  {
    torch::NoGradGuard ng;
    for (auto& p : head_b->named_parameters()) p.value().mul_(2.0);
  }
  ModelBundle multi;
  multi.tokenizer = single.tokenizer;
  multi.model = std::make_shared<AdaptiveModel>(
      loaded.model, std::vector<TaskHead>{{"a", head_a, 1.0}, {"b", head_b, 1.0}, {"x", std::make_shared<NoHfHead>(), 1.0}});

  const std::string out = test::temp_dir("export") + "/multi";
  HfExportResult r = export_hf(multi, out);
  REQUIRE(r.dirs.size() == 3);
  CHECK(r.dirs[0].architecture == "BertModel");
  CHECK(r.dirs[1].path == out + "/a");
  CHECK(r.dirs[2].task == "b");
  REQUIRE(r.skipped.size() == 1);
  CHECK(contains(r.skipped[0], "x"));
  CHECK(!fs::exists(out + "/x"));

  Value base_cfg = read_json_file(out + "/config.json");
  CHECK(base_cfg.at("architectures") == Value(std::vector<std::string>{"BertModel"}));
  StateDict base = read_safetensors(out + "/model.safetensors");
  CHECK(base.contains("encoder.layer.0.attention.self.query.weight"));  // BertModel keys: no prefix, no head
  CHECK(!base.contains("classifier.weight"));
  CHECK(fs::exists(out + "/vocab.txt"));
  LoadedModel lm = load_pretrained(out, registry());
  CHECK(lm.report.ok());

  StateDict b = read_safetensors(out + "/b/model.safetensors");
  CHECK(torch::equal(b.at("classifier.weight"), read_safetensors(src + "/model.safetensors").at("classifier.weight") * 2));
  check_identical(predict(load_model_dir(out + "/a", registry())), predict(single));

  // a single task whose head has no HF equivalent: the language model only
  ModelBundle nohf;
  nohf.tokenizer = single.tokenizer;
  nohf.model = std::make_shared<AdaptiveModel>(loaded.model, std::vector<TaskHead>{{"x", std::make_shared<NoHfHead>(), 1.0}});
  HfExportResult r2 = export_hf(nohf, test::temp_dir("export") + "/nohf");
  CHECK(r2.dirs.size() == 1);
  CHECK(r2.dirs[0].architecture == "BertModel");
  CHECK(r2.skipped.size() == 1);
}

TEST_CASE("graft export --hf (CLI): prints what it wrote; refuses a non-empty OUT, a missing --hf, its own dir") {
  const std::string src = fixture_model_with_tokenizer();
  const std::string out = test::temp_dir("export") + "/cli";
  const std::string plug = "--plugin-path '" + test::plugin_dir() + "' ";
  auto r = test::run_graft(plug + "export --hf '" + src + "' '" + out + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.out == out + "\tBertForSequenceClassification\ttask text_classification\n");
  CHECK(fs::exists(out + "/pytorch_model.bin"));

  r = test::run_graft(plug + "export --hf '" + src + "' '" + out + "'");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "exists and is not empty"));
  r = test::run_graft(plug + "export --hf --no-bin --dtype bf16 --force '" + src + "' '" + out + "'");
  CHECK(r.exit_code == 0);
  CHECK(!fs::exists(out + "/pytorch_model.bin"));
  CHECK(read_json_file(out + "/config.json").at("torch_dtype").as_string() == "bfloat16");

  r = test::run_graft(plug + "export '" + src + "' '" + out + "2'");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "--hf"));
}

TEST_CASE("export_hf refuses the model's own directory, a non-empty OUT and an unknown model") {
  const std::string src = fixture_model_with_tokenizer();
  ModelBundle b = load_model_dir(src, registry());
  try {
    export_hf(b, src);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(contains(e.what(), "own directory"));
  }
  const std::string out = test::temp_dir("export") + "/full";
  fs::create_directories(out);
  write_file_atomic(out + "/keep.txt", "x");
  CHECK_THROWS_AS(export_hf(b, out), ConfigError);
  CHECK(fs::exists(out + "/keep.txt"));
  HfExportOptions force;
  force.overwrite = true;
  export_hf(b, out, force);
  CHECK(!fs::exists(out + "/keep.txt"));
  CHECK_THROWS_AS(load_model_dir("./no/such/model", registry()), ConfigError);
}
