// Feature cache: binary round trip, hits (no featurization), stale keys (data file, processor
// option, tokenizer file), corrupt entries (truncated, flipped byte) rebuilt with a warning.
#include "trainer_fakes.h"
#include "test_support.h"

#include <graft/core/data_silo.h>
#include <graft/core/feature_cache.h>
#include <graft/core/files.h>
#include <graft/core/recipe.h>
#include <graft/error.h>
#include <graft/log.h>

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>

using namespace graft;
using namespace graft::core;
namespace fs = std::filesystem;

namespace {

/// FakeProcessor that counts featurize() calls (from every featurization thread).
class CountingProcessor : public test::FakeProcessor {
 public:
  mutable std::atomic<int> calls{0};
  void featurize(Basket& b, const Tokenizer& tok) const override {
    ++calls;
    FakeProcessor::featurize(b, tok);
  }
};

std::mutex g_log_mutex;
std::vector<std::string> g_warnings;
void capture_sink(log::Level level, std::string_view msg) {
  if (level < log::Level::warn) return;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_warnings.emplace_back(msg);
}
struct CaptureWarnings {
  CaptureWarnings() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_warnings.clear();
    log::set_sink(&capture_sink);
  }
  bool any_contains(const std::string& s) const {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    for (const auto& w : g_warnings)
      if (w.find(s) != std::string::npos) return true;
    return false;
  }
};

std::shared_ptr<CountingProcessor> proc(const std::string& train, const std::string& test = "") {
  auto p = std::make_shared<CountingProcessor>();
  p->data.train = train;
  p->data.test = test;
  p->data.on_error = "skip";
  p->label_list = {"neg", "pos"};
  return p;
}

SiloOptions cached(const std::string& dir, const std::string& cache, const std::string& proc_fp = "fake v1",
                   const std::string& tok_fp = "tok v1") {
  SiloOptions o;
  o.base_dir = dir;
  o.seed = 3;
  o.threads = 2;
  o.cache_dir = cache;
  o.tokenizer_fingerprint = tok_fp;
  o.processor_fingerprints["sent"] = proc_fp;
  return o;
}

struct Loaded {
  int calls = 0;
  std::vector<Basket> train, test;
  bool train_cached = false, test_cached = false;
  int64_t skipped = 0;
};

Loaded load(const std::string& dir, const SiloOptions& o) {
  auto p = proc("train.tsv", "test.tsv");
  DataSilo silo({{"sent", p}}, std::make_shared<test::FakeTokenizer>(), o);
  Loaded l;
  l.calls = p->calls.load();
  l.train = silo.task("sent").train;
  l.test = silo.task("sent").test;
  l.train_cached = silo.task("sent").from_cache.count("train") > 0;
  l.test_cached = silo.task("sent").from_cache.count("test") > 0;
  l.skipped = silo.task("sent").skipped;
  return l;
}

void check_same(const std::vector<Basket>& a, const std::vector<Basket>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].id == b[i].id);
    CHECK(a[i].loc.str() == b[i].loc.str());
    CHECK(a[i].raw == b[i].raw);
    REQUIRE(a[i].samples.size() == b[i].samples.size());
    for (size_t s = 0; s < a[i].samples.size(); ++s) {
      const Sample& x = a[i].samples[s];
      const Sample& y = b[i].samples[s];
      CHECK(x.id == y.id);
      CHECK(x.encoding.ids == y.encoding.ids);
      CHECK(x.encoding.tokens == y.encoding.tokens);
      CHECK(x.encoding.offsets == y.encoding.offsets);
      REQUIRE(x.features.size() == y.features.size());
      for (const auto& [k, t] : x.features) {
        REQUIRE(y.features.count(k));
        CHECK(t.dtype() == y.features.at(k).dtype());
        CHECK(t.sizes() == y.features.at(k).sizes());
        CHECK(torch::equal(t, y.features.at(k)));
      }
    }
  }
}

void setup_data(const std::string& dir) {
  test::write_toy_tsv(dir + "/train.tsv", 300, 11);
  // one bad record (no tab) and one that fails featurization: both skipped and counted
  std::string t = read_file(dir + "/train.tsv");
  write_file_atomic(dir + "/train.tsv", t + "no tab here\nBAD\tneg\n");
  test::write_toy_tsv(dir + "/test.tsv", 40, 12);
}

std::string only_entry(const std::string& cache, const std::string& skip = "") {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(cache))
    if (e.path().extension() == ".gfc" && e.path().string() != skip) found.push_back(e.path().string());
  std::sort(found.begin(), found.end());
  return found.empty() ? std::string() : found.front();
}

}  // namespace

TEST_CASE("binary round trip keeps ids, locations, raw values, encodings and every feature dtype") {
  auto dir = test::temp_dir("fcache");
  std::vector<Basket> in(3);
  for (int i = 0; i < 3; ++i) {
    Basket& b = in[static_cast<size_t>(i)];
    b.id = cat("f.tsv:", i + 1);
    b.loc = SourceLocation{"f.tsv", i + 1, 0};
    b.raw = Value::object();
    b.raw.set("text", "héllo wörld");
    b.raw.set("n", int64_t{1} << 40);
    b.raw.set("x", 1.0);  // a float that prints like an integer stays a float
    b.raw.set("flag", true);
    b.raw.set("none", Value());
    b.raw.set("list", Value(std::vector<std::string>{"a", "b"}));
    for (int s = 0; s < i + 1; ++s) {
      Sample smp;
      smp.id = cat(b.id, "-", s);
      smp.meta = Value::object();
      smp.meta.set("window", s);
      smp.encoding.ids = {2, 70000, -5, 3};
      smp.encoding.type_ids = {0, 0, 1, 1};
      smp.encoding.tokens = {"[CLS]", "h", "##é", "[SEP]"};
      smp.encoding.offsets = {{0, 0}, {0, 1}, {1, 3}, {0, 0}};
      smp.encoding.word_ids = {-1, 0, 0, -1};
      smp.encoding.sequence_ids = {-1, 0, 0, -1};
      smp.encoding.special_tokens_mask = {1, 0, 0, 1};
      smp.features["input_ids"] = torch::tensor({2, 7, 9, 3}, torch::kInt64);
      smp.features["mask"] = torch::ones({4}, torch::kInt8);
      smp.features["t/label_ids"] = torch::tensor(int64_t{s});  // 0-dim
      smp.features["t/probs"] = torch::rand({2, 3}, torch::kFloat32);
      smp.features["t/half"] = torch::rand({5}).to(torch::kBFloat16);
      smp.features["t/bool"] = torch::tensor({true, false});
      b.samples.push_back(std::move(smp));
    }
  }
  CacheInfo info;
  info.skipped = 4;
  info.labels = {"neg", "pos"};
  info.source = "f.tsv";
  std::string key = CacheKey().add("a", "b").hex();
  CHECK(key.size() == 64);
  write_feature_file(dir + "/e.gfc", key, in, info);
  CacheInfo back;
  auto out = read_feature_file(dir + "/e.gfc", key, &back);
  check_same(in, out);
  CHECK(out[0].raw.at("x").is_number());
  CHECK(out[0].raw.at("x").type() == Value::Type::floating);
  CHECK(out[2].samples[1].meta == in[2].samples[1].meta);
  CHECK(out[1].samples[0].encoding.word_ids == in[1].samples[0].encoding.word_ids);
  CHECK(out[1].samples[0].encoding.special_tokens_mask == in[1].samples[0].encoding.special_tokens_mask);
  CHECK(back.skipped == 4);
  CHECK(back.labels == info.labels);
  CHECK(back.source == "f.tsv");
  // a tensor view stays valid after the file is replaced and the vector copied around
  torch::Tensor keep = out[2].samples[1].features.at("input_ids");
  fs::remove(dir + "/e.gfc");
  out.clear();
  CHECK(keep.sum().item<int64_t>() == 21);
  // copy-on-write mapping: writing into a loaded tensor does not touch the file
  write_feature_file(dir + "/e.gfc", key, in, info);
  auto again = read_feature_file(dir + "/e.gfc", key);
  again[0].samples[0].features.at("input_ids").fill_(0);
  check_same(in, read_feature_file(dir + "/e.gfc", key));
  // wrong key: refused
  CHECK_THROWS_AS(read_feature_file(dir + "/e.gfc", CacheKey().add("a", "c").hex()), FormatError);
}

TEST_CASE("keys: named parts are length-prefixed, files are content hashes") {
  CHECK(CacheKey().add("ab", "c").hex() != CacheKey().add("a", "bc").hex());
  CHECK(digest_sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto dir = test::temp_dir("fcache");
  write_file_atomic(dir + "/a.txt", "same");
  write_file_atomic(dir + "/b.txt", "same");
  CHECK(CacheKey().add_file("f", dir + "/a.txt").hex() == CacheKey().add_file("f", dir + "/b.txt").hex());
  write_file_atomic(dir + "/b.txt", "diff");
  CHECK(CacheKey().add_file("f", dir + "/a.txt").hex() != CacheKey().add_file("f", dir + "/b.txt").hex());
  CHECK_THROWS_AS(CacheKey().add_file("f", dir + "/missing.txt"), DataError);
  CHECK(checksum64("abcdefgh12345678abcdefgh12345678x", 33) != checksum64("abcdefgh12345678abcdefgh12345679x", 33));
}

TEST_CASE("hit: the second load featurizes nothing and gives the same baskets") {
  auto dir = test::temp_dir("fcache");
  setup_data(dir);
  std::string cache = dir + "/cache";
  Loaded first = load(dir, cached(dir, cache));
  CHECK(first.calls == 301 + 40);  // every record read (the tab-less one never reaches featurize)
  CHECK_FALSE(first.train_cached);
  CHECK(first.skipped == 2);
  Loaded second = load(dir, cached(dir, cache));
  CHECK(second.calls == 0);
  CHECK(second.train_cached);
  CHECK(second.test_cached);
  CHECK(second.skipped == 2);  // the bad records are still counted
  check_same(first.train, second.train);
  check_same(first.test, second.test);
  // the seeded dev split works on cached data exactly as on fresh data
  auto with_dev = [&](bool use_cache) {
    auto p = proc("train.tsv");
    p->data.dev_split = 0.2;
    auto o = cached(dir, use_cache ? cache : "");
    DataSilo silo({{"sent", p}}, std::make_shared<test::FakeTokenizer>(), o);
    std::vector<std::string> ids;
    for (const auto& b : silo.task("sent").dev) ids.push_back(b.id);
    return ids;
  };
  CHECK(with_dev(true) == with_dev(false));
  // no cache dir, or no fingerprint for the task: never cached
  CHECK(load(dir, cached(dir, "")).calls == 341);
  auto o = cached(dir, cache);
  o.processor_fingerprints.clear();
  CHECK(load(dir, o).calls == 341);
}

TEST_CASE("stale: a changed data file, processor option or tokenizer misses the cache") {
  auto dir = test::temp_dir("fcache");
  setup_data(dir);
  std::string cache = dir + "/cache";
  REQUIRE(load(dir, cached(dir, cache)).calls == 341);
  REQUIRE(load(dir, cached(dir, cache)).calls == 0);

  // data file: the test file changes → every split of the task is rebuilt (labels flow from train)
  test::write_toy_tsv(dir + "/test.tsv", 41, 13);
  Loaded l = load(dir, cached(dir, cache));
  CHECK(l.calls == 341 + 1);
  CHECK_FALSE(l.train_cached);
  CHECK(l.test.size() == 41);
  CHECK(load(dir, cached(dir, cache)).calls == 0);

  // same size, one byte different
  std::string t = read_file(dir + "/train.tsv");
  t[0] = t[0] == 'a' ? 'b' : 'a';
  write_file_atomic(dir + "/train.tsv", t);
  CHECK(load(dir, cached(dir, cache)).calls == 342);

  // processor option (its fingerprint) and tokenizer (its fingerprint)
  CHECK(load(dir, cached(dir, cache, "fake v2")).calls == 342);
  CHECK(load(dir, cached(dir, cache, "fake v2", "tok v2")).calls == 342);
  CHECK(load(dir, cached(dir, cache, "fake v2", "tok v2")).calls == 0);
}

TEST_CASE("recipe fingerprints follow the tokenizer files' contents and the processor options") {
  auto dir = test::temp_dir("fcache");
  fs::create_directories(dir + "/model");
  write_file_atomic(dir + "/model/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
  write_file_atomic(dir + "/model/config.json", "{\"model_type\": \"bert\"}");
  write_file_atomic(dir + "/model/model.safetensors", "weights v1");
  Recipe r;
  r.path = dir + "/recipe.toml";
  r.base_dir = dir;
  r.language_model.checkpoint = dir + "/model";
  std::string a = tokenizer_fingerprint(r);
  CHECK_FALSE(a.empty());
  write_file_atomic(dir + "/model/model.safetensors", "weights v2 (fine-tuned)");
  CHECK(tokenizer_fingerprint(r) == a);  // weights do not change features
  write_file_atomic(dir + "/model/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhallo\n");
  std::string b = tokenizer_fingerprint(r);
  CHECK(b != a);
  write_file_atomic(dir + "/model/tokenizer_config.json", "{\"do_lower_case\": false}");
  CHECK(tokenizer_fingerprint(r) != b);
  // a from-scratch model with no tokenizer section cannot be fingerprinted: caching is off
  Recipe none;
  none.base_dir = dir;
  CHECK(tokenizer_fingerprint(none).empty());
  SiloOptions so;
  none.data.cache_dir = dir + "/cache";
  configure_feature_cache(none, so);
  CHECK(so.cache_dir.empty());
  // [data] cache = false
  r.data.cache = false;
  SiloOptions off;
  configure_feature_cache(r, off);
  CHECK(off.cache_dir.empty());
  r.data.cache = true;
  r.data.cache_dir = dir + "/cache";
  SiloOptions on;
  configure_feature_cache(r, on);
  CHECK(on.cache_dir == dir + "/cache");
  CHECK(on.tokenizer_fingerprint == tokenizer_fingerprint(r));
}

TEST_CASE("corrupt entries (truncated, flipped byte, foreign file) are rebuilt with a warning") {
  auto dir = test::temp_dir("fcache");
  setup_data(dir);
  std::string cache = dir + "/cache";
  REQUIRE(load(dir, cached(dir, cache)).calls == 341);

  auto corrupt_all = [&](const std::function<void(std::string&)>& damage) {
    for (const auto& e : fs::directory_iterator(cache)) {
      if (e.path().extension() != ".gfc") continue;
      std::string bytes = read_file(e.path().string());
      damage(bytes);
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
  };
  struct Case {
    const char* name;
    std::function<void(std::string&)> damage;
    const char* reason;
  };
  std::vector<Case> cases = {
      {"truncated", [](std::string& b) { b.resize(b.size() - 100); }, "truncated"},
      {"header only", [](std::string& b) { b.resize(64); }, "truncated"},
      {"shorter than a header", [](std::string& b) { b.resize(10); }, "shorter than the 64-byte header"},
      {"flipped payload byte", [](std::string& b) { b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 0x10); },
       "checksum mismatch"},
      {"flipped key byte", [](std::string& b) { b[20] = static_cast<char>(b[20] ^ 1); }, "key does not match"},
      {"foreign file", [](std::string& b) { b = std::string(200, 'x'); }, "bad magic"},
      {"other format version", [](std::string& b) { b[8] = 99; }, "format version 99"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    corrupt_all(c.damage);
    CaptureWarnings w;
    Loaded l = load(dir, cached(dir, cache));
    CHECK(l.calls == 341);  // rebuilt, never used
    CHECK_FALSE(l.train_cached);
    CHECK(w.any_contains("feature cache"));
    CHECK(w.any_contains(c.reason));
    // … and the rebuilt entry is good again
    CHECK(load(dir, cached(dir, cache)).calls == 0);
  }
}

TEST_CASE("an unwritable cache directory warns and the run goes on") {
  auto dir = test::temp_dir("fcache");
  setup_data(dir);
  write_file_atomic(dir + "/not_a_dir", "x");
  CaptureWarnings w;
  Loaded l = load(dir, cached(dir, dir + "/not_a_dir/cache"));
  CHECK(l.calls == 341);
  CHECK(l.train.size() == 300);
  CHECK(w.any_contains("could not store"));
}
