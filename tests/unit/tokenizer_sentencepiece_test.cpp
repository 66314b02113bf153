// SentencePiece tokenizers (XLM-R, ALBERT, CamemBERT flavours) against the golden fixtures:
// every case (encoding, truncation windows, decode) of xlmr-style-spm and albert-style-spm;
// the process isolation of sentencepiece from LibTorch; loading, saving, options and errors.
// The subset in tests/fixtures/tokenizers always runs; the full set in ../shared when present.
#include <doctest/doctest.h>

#include "test_support.h"
#include "tokenizer_fixture.h"

#include <graft/core/files.h>
#include <graft/core/sentencepiece.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <torch/torch.h>

#include <dlfcn.h>
#include <link.h>

#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using tokfix::json;

namespace {

struct Tally {
  size_t cases = 0, windows = 0, exact_offsets = 0;
  std::vector<std::string> failures;
};

std::string dir_of(const std::string& name, bool full) {
  return full ? graft::test::shared("fixtures/tokenizers/models/" + name)
              : graft::test::fixture("tokenizers/models/" + name);
}
std::string jsonl_of(const std::string& name, bool full) {
  return full ? graft::test::shared("fixtures/tokenizers/" + name + ".jsonl")
              : graft::test::fixture("tokenizers/" + name + ".jsonl");
}

// The albert reference offsets index the preprocessed text (expected.encoding.offsets_refer_to).
// With `original_offsets`, offsets are compared exactly only where that text is the input
// itself; elsewhere they must lie inside the input and never go backwards within a sequence.
bool drop_offsets(const json& c) {
  const json& ex = c.at("expected").at("encoding");
  if (!ex.contains("offsets_refer_to")) return false;
  return ex.at("offsets_refer_to") != c.at("input");
}

std::string check_original_offsets(const json& c, const json& got) {
  const json& in = c.at("input");
  auto text_of = [&](const json& seq, const json& word) -> std::string {
    if (in.contains("words")) return in.at("words").at(word.get<size_t>()).get<std::string>();
    return seq.get<int>() == 0 ? in.at("text").get<std::string>() : in.at("text_pair").get<std::string>();
  };
  const json& e = got.at("encoding");
  int64_t prev_end[2] = {0, 0};
  for (size_t i = 0; i < e.at("ids").size(); ++i) {
    if (e.at("sequence_ids")[i].is_null()) continue;
    std::string t = text_of(e.at("sequence_ids")[i], e.at("word_ids")[i]);
    int64_t b = e.at("offsets_utf8")[i][0], en = e.at("offsets_utf8")[i][1];
    int s = e.at("sequence_ids")[i].get<int>();
    if (b < 0 || en < b || en > static_cast<int64_t>(t.size()))
      return graft::cat(c.at("case").get<std::string>(), ": token ", i, " offsets [", b, ",", en, ") outside the input");
    if (!in.contains("words") && en < prev_end[s] && b < prev_end[s] && en != b)
      return graft::cat(c.at("case").get<std::string>(), ": token ", i, " offsets go backwards");
    prev_end[s] = std::max(prev_end[s], en);
  }
  return "";
}

Tally run_file(const graft::Tokenizer& tok, const std::string& jsonl, bool original_offsets) {
  Tally t;
  for (json c : tokfix::read_jsonl(jsonl)) {
    ++t.cases;
    const json& et = c.at("expected").at("truncation");
    if (!et.contains("error")) t.windows += et.at("encodings").size();
    std::string diff;
    try {
      json got = tokfix::run_case(tok, c);
      if (original_offsets && drop_offsets(c)) {
        diff = check_original_offsets(c, got);
        json& ex = c.at("expected");
        ex.at("encoding").erase("offsets_utf8");
        if (ex.at("truncation").contains("encodings"))
          for (auto& w : ex.at("truncation").at("encodings")) w.erase("offsets_utf8");
      } else if (c.at("expected").at("encoding").contains("offsets_utf8")) {
        ++t.exact_offsets;
      }
      if (diff.empty()) diff = tokfix::compare_case(c, got);
    } catch (const std::exception& e) {
      diff = c.at("case").get<std::string>() + ": threw " + e.what();
    }
    if (!diff.empty()) t.failures.push_back(diff);
  }
  return t;
}

void report(const std::string& label, const Tally& t) {
  MESSAGE(label << ": " << (t.cases - t.failures.size()) << "/" << t.cases << " cases pass (" << t.windows
                << " truncation windows, offsets compared exactly in " << t.exact_offsets << ")");
  for (size_t i = 0; i < t.failures.size() && i < 5; ++i) MESSAGE("  " << t.failures[i]);
  CHECK(t.cases > 0);
  CHECK(t.failures.empty());
}

std::shared_ptr<graft::Tokenizer> albert_preprocessed_offsets(const std::string& dir) {
  graft::core::SentencePieceOptions o;
  o.flavour = "albert";
  o.offsets = "preprocessed";
  return graft::core::make_sentencepiece(o, dir);
}

void run_all(bool full) {
  std::string label = full ? "full " : "subset ";
  {
    auto tok = graft::core::load_tokenizer(dir_of("xlmr-style-spm", full));
    CHECK(tok->kind() == "sentencepiece");
    Tally t = run_file(*tok, jsonl_of("xlmr-style-spm", full), false);
    if (!full) CHECK(t.cases >= 40);
    report(label + "xlmr-style-spm", t);
  }
  {
    auto tok = graft::core::load_tokenizer(dir_of("albert-style-spm", full));
    Tally t = run_file(*tok, jsonl_of("albert-style-spm", full), true);
    report(label + "albert-style-spm (offsets into the input)", t);
    auto pre = albert_preprocessed_offsets(dir_of("albert-style-spm", full));
    Tally p = run_file(*pre, jsonl_of("albert-style-spm", full), false);
    report(label + "albert-style-spm (offsets into the preprocessed text, as the reference)", p);
  }
}

std::set<std::string> loaded_objects() {
  std::set<std::string> out;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name && *info->dlpi_name)
          static_cast<std::set<std::string>*>(data)->insert(fs::path(info->dlpi_name).filename().string());
        return 0;
      },
      &out);
  return out;
}

bool any_starts(const std::set<std::string>& s, const std::string& prefix) {
  for (const auto& x : s)
    if (x.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("sentencepiece runs isolated in a process that uses LibTorch") {
  // LibTorch (with its libprotobuf) is loaded and working before sentencepiece is touched.
  torch::Tensor a = torch::ones({4, 4});
  CHECK((a.matmul(a)).sum().item<float>() == doctest::Approx(64.0f));
  auto before = loaded_objects();
  CHECK(any_starts(before, "libtorch"));
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/xlmr-style-spm"));
  auto e = tok->encode_one(graft::TextInput::single("Here is a plain sentence"));
  CHECK(e.ids == std::vector<int64_t>{0, 147, 142, 64, 5, 6317, 1994, 310, 2});
  auto after = loaded_objects();
  CHECK(after.count("libgraft_spm.so") == 1);
  CHECK(any_starts(after, "libsentencepiece"));
  // LibTorch still works afterwards.
  CHECK(torch::arange(5).sum().item<int64_t>() == 10);

  // libgraft_core.so itself does not depend on sentencepiece (only the module does).
  Dl_info info{};
  REQUIRE(dladdr(reinterpret_cast<void*>(&graft::core::load_tokenizer), &info));
  std::string core = graft::core::read_file(info.dli_fname);
  CHECK(core.find("libsentencepiece.so") == std::string::npos);
}

TEST_CASE("xlmr-style-spm and albert-style-spm match the shipped fixture subset") { run_all(false); }

TEST_CASE("xlmr-style-spm and albert-style-spm match the full shared fixtures") {
  if (!graft::test::have_shared()) {
    MESSAGE("../shared not present: full fixture set skipped");
    return;
  }
  run_all(true);
}

TEST_CASE("special ids, vocabulary size and id/token mapping per flavour") {
  auto x = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/xlmr-style-spm"));
  CHECK(x->vocab_size() == 8002);
  CHECK(x->cls_id() == 0);
  CHECK(x->pad_id() == 1);
  CHECK(x->sep_id() == 2);
  CHECK(x->unk_id() == 3);
  CHECK(x->mask_id() == 8001);
  CHECK(x->id_to_token(8001) == "<mask>");
  CHECK(x->token_to_id("<mask>") == 8001);
  CHECK(x->token_to_id("▁is") == 64);
  CHECK(x->id_to_token(64) == "▁is");
  CHECK(x->token_to_id("no-such-piece") == -1);
  CHECK(x->num_special_tokens(false) == 2);
  CHECK(x->num_special_tokens(true) == 4);

  auto a = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/albert-style-spm"));
  CHECK(a->vocab_size() == 8000);
  CHECK(a->pad_id() == 0);
  CHECK(a->unk_id() == 1);
  CHECK(a->cls_id() == 2);
  CHECK(a->sep_id() == 3);
  CHECK(a->mask_id() == 4);
  CHECK(a->num_special_tokens(true) == 3);

  // CamemBERT: fairseq specials <s>NOTUSED=0 <pad>=1 </s>NOTUSED=2 <unk>=3, pieces + 4, <s>/</s>
  // are the model's own pieces (+4), <mask> last. Same pieces as the XLM-R flavour of one model.
  graft::core::SentencePieceOptions o;
  o.flavour = "camembert";
  auto c = graft::core::make_sentencepiece(o, graft::test::fixture("tokenizers/models/xlmr-style-spm"));
  CHECK(c->vocab_size() == 8000 + 5);
  CHECK(c->token_to_id("<s>NOTUSED") == 0);
  CHECK(c->pad_id() == 1);
  CHECK(c->token_to_id("</s>NOTUSED") == 2);
  CHECK(c->unk_id() == 3);
  CHECK(c->cls_id() == 5);  // spm "<s>" = 1
  CHECK(c->sep_id() == 6);  // spm "</s>" = 2
  CHECK(c->mask_id() == 8004);
  auto ex = x->encode_one(graft::TextInput::with_pair("Die Katze sitzt", "auf der Matte"));
  auto ec = c->encode_one(graft::TextInput::with_pair("Die Katze sitzt", "auf der Matte"));
  REQUIRE(ex.size() == ec.size());
  for (size_t i = 0; i < ex.size(); ++i) {
    CAPTURE(i);
    CHECK(ec.tokens[i] == ex.tokens[i]);
    if (ex.special_tokens_mask[i]) {
      CHECK(ec.ids[i] == (ex.ids[i] == 0 ? 5 : 6));
    } else {
      CHECK(ec.ids[i] == ex.ids[i] + 3);
    }
    CHECK(ec.type_ids[i] == 0);
  }
  CHECK(c->decode(ec.ids) == "Die Katze sitzt auf der Matte");
  // unknown characters: the piece keeps its surface, the id is <unk>
  auto u = c->encode_one(graft::TextInput::single("a \xEE\x80\x80 b"));  // a private-use character
  CHECK(std::find(u.ids.begin(), u.ids.end(), 3) != u.ids.end());
}

TEST_CASE("ALBERT offsets point into the caller's text through the preprocessing") {
  auto a = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/albert-style-spm"));
  // Upper case, an accent (NFKD + drop), a whitespace run, `` quotes, a ligature and 1,000,
  std::string text = "  Caf\xC3\xA9   ``Hello''  \xEF\xAC\x81ne 1,000, ok ";
  auto e = a->encode_one(graft::TextInput::single(text));
  std::string joined;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e.special_tokens_mask[i]) continue;
    auto [b, en] = e.offsets[i];
    CAPTURE(e.tokens[i]);
    REQUIRE(b >= 0);
    REQUIRE(en <= static_cast<int64_t>(text.size()));
    REQUIRE(b <= en);
  }
  // "café" → "▁cafe" (or pieces of it) covering the original bytes of "  Café".
  CHECK(e.tokens[1].rfind("▁", 0) == 0);
  CHECK(e.offsets[1].first == 2);  // the stripped leading spaces belong to no token
  int64_t cafe_end = 0;
  size_t k = 1;
  for (; k < e.size() && e.offsets[k].second <= 7; ++k) cafe_end = e.offsets[k].second;
  CHECK(cafe_end == 7);  // "  Café" is 7 bytes (é = 2)
  // the quote "``" → '"' maps back to both backticks
  bool quote = false;
  for (size_t i = 0; i < e.size(); ++i)
    if (e.tokens[i] == "\"" || e.tokens[i] == "▁\"") {
      quote = true;
      std::string q = text.substr(e.offsets[i].second - 2, 2);
      CHECK((q == "``" || q == "''"));
    }
  CHECK(quote);
  // "1,000," is re-split (digit + comma): ▁ 1,000 , — the comma maps to the second comma
  auto ok_it = std::find(e.tokens.begin(), e.tokens.end(), "ok");
  REQUIRE(ok_it != e.tokens.end());
  size_t ok = static_cast<size_t>(ok_it - e.tokens.begin());
  CHECK(e.tokens[ok - 2] == ",");
  CHECK(e.tokens[ok - 3] == "1,000");
  CHECK(e.offsets[ok - 2].first == static_cast<int64_t>(text.find("1,000,") + 5));
  CHECK(text.substr(e.offsets[ok - 3].first, 5) == "1,000");
  CHECK(text.substr(e.offsets[ok].first, e.offsets[ok].second - e.offsets[ok].first) == "ok");
  // the ligature (NFKD "fi") maps back to its 3 bytes, the whitespace run before it included
  auto fine = std::find(e.tokens.begin(), e.tokens.end(), "▁fine");
  REQUIRE(fine != e.tokens.end());
  auto [fb, fe] = e.offsets[static_cast<size_t>(fine - e.tokens.begin())];
  CHECK(text.substr(fb, fe - fb) == "  \xEF\xAC\x81ne");
  CHECK(a->decode(e.ids) == "cafe \"hello\" fine 1,000, ok");
}

TEST_CASE("literal special tokens are split out; the mask eats the whitespace before it") {
  auto x = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/xlmr-style-spm"));
  std::string text = "Paris is the <mask> of France";
  auto e = x->encode_one(graft::TextInput::single(text));
  auto m = std::find(e.ids.begin(), e.ids.end(), 8001);
  REQUIRE(m != e.ids.end());
  size_t i = static_cast<size_t>(m - e.ids.begin());
  CHECK(e.tokens[i] == "<mask>");
  CHECK(e.special_tokens_mask[i] == 0);
  CHECK(text.substr(e.offsets[i].first, e.offsets[i].second - e.offsets[i].first) == "<mask>");
  CHECK(e.tokens[i + 1] == "▁of");
  // whitespace-only text has no tokens
  auto blank = x->encode_one(graft::TextInput::single("   \t "));
  CHECK(blank.ids == std::vector<int64_t>{0, 2});
}

TEST_CASE("a saved SentencePiece tokenizer reloads with identical behaviour") {
  for (const char* name : {"xlmr-style-spm", "albert-style-spm"}) {
    CAPTURE(name);
    auto tok = graft::core::load_tokenizer(graft::test::fixture(std::string("tokenizers/models/") + name));
    std::string dir = graft::test::temp_dir(std::string("saved-") + name);
    graft::core::save_tokenizer(*tok, dir);
    CHECK(fs::exists(dir + "/tokenizer_config.json"));
    CHECK(fs::exists(dir + "/special_tokens_map.json"));
    auto cfg = json::parse(graft::core::read_file(dir + "/tokenizer_config.json"));
    CHECK(cfg.at("tokenizer_class") == (std::string(name) == "xlmr-style-spm" ? "XLMRobertaTokenizer" : "AlbertTokenizer"));
    auto map = json::parse(graft::core::read_file(dir + "/special_tokens_map.json"));
    CHECK(map.at("mask_token").at("lstrip") == true);
    auto again = graft::core::load_tokenizer(dir);
    Tally t = run_file(*again, graft::test::fixture(std::string("tokenizers/") + name + ".jsonl"),
                       std::string(name) == "albert-style-spm");
    report(std::string("saved+reloaded ") + name, t);
  }
}

TEST_CASE("the registered \"sentencepiece\" factory builds from options") {
  struct Capture : graft::Registrar {
    std::vector<graft::TokenizerEntry> tokenizers;
    void add(graft::LanguageModelEntry) override {}
    void add(graft::HeadEntry) override {}
    void add(graft::ProcessorEntry) override {}
    void add(graft::MetricEntry) override {}
    void add(graft::TokenizerEntry e) override { tokenizers.push_back(std::move(e)); }
  } r;
  graft::core::register_core_tokenizers(r);
  const graft::TokenizerEntry* entry = nullptr;
  for (const auto& e : r.tokenizers)
    if (e.name == "sentencepiece") entry = &e;
  REQUIRE(entry);
  auto opts = entry->make_options();
  auto& o = static_cast<graft::OptionsHolder<graft::core::SentencePieceOptions>&>(*opts).value;
  o.model = "spiece.model";
  o.flavour = "albert";
  graft::TokenizerContext ctx{graft::test::fixture("tokenizers/models/albert-style-spm")};
  auto tok = entry->make(*opts, ctx);
  auto ref = graft::core::load_tokenizer(ctx.model_dir);
  auto in = graft::TextInput::with_pair("Is this the first sentence?", "Yes, and this is the second one.");
  CHECK(tok->encode_one(in).ids == ref->encode_one(in).ids);
  CHECK(tok->encode_one(in).type_ids == ref->encode_one(in).type_ids);

  graft::Diagnostics d;
  o.do_lower_case = graft::Value("yes");
  opts->check(d);
  CHECK(d.count() == 1);
}

TEST_CASE("bad input and bad files give clear errors") {
  auto x = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/xlmr-style-spm"));
  CHECK_THROWS_AS(x->encode_one(graft::TextInput::single(std::string("ab\xC3", 3))), graft::DataError);
  CHECK_THROWS_AS(x->encode_one(graft::TextInput::single(std::string("ab\xFF"))), graft::DataError);

  std::string dir = graft::test::temp_dir("broken-spm");
  graft::core::write_file_atomic(dir + "/spiece.model", "this is not a sentencepiece model");
  try {
    graft::core::load_tokenizer(dir);
    FAIL("expected FormatError");
  } catch (const graft::FormatError& e) {
    CHECK(std::string(e.what()).find(dir + "/spiece.model") != std::string::npos);
    CHECK(std::string(e.what()).find("not a valid SentencePiece model") != std::string::npos);
  }

  std::string other = graft::test::temp_dir("t5-spm");
  fs::copy_file(graft::test::fixture("tokenizers/models/albert-style-spm/spiece.model"), other + "/spiece.model");
  graft::core::write_file_atomic(other + "/tokenizer_config.json", R"({"tokenizer_class": "T5Tokenizer"})");
  try {
    graft::core::load_tokenizer(other);
    FAIL("expected FormatError");
  } catch (const graft::FormatError& e) {
    CHECK(std::string(e.what()).find("tokenizer_class 'T5Tokenizer'") != std::string::npos);
  }

  graft::core::write_file_atomic(other + "/tokenizer_config.json", R"({"do_lower_case": "yes"})");
  CHECK_THROWS_WITH_AS(graft::core::load_tokenizer(other),
                       doctest::Contains("field 'do_lower_case' must be a boolean"), graft::FormatError);

  graft::core::SentencePieceOptions o;
  o.model = "missing.model";
  CHECK_THROWS_WITH_AS(graft::core::make_sentencepiece(o, dir), doctest::Contains("missing.model does not exist"),
                       graft::FormatError);
}

TEST_CASE("encode is thread-safe (concurrent calls give the sequential results)") {
  auto a = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/albert-style-spm"));
  std::vector<std::string> texts;
  for (int i = 0; i < 48; ++i) texts.push_back(graft::cat("Sentence ", i, " with Café, 1,234, and [MASK] ", std::string(i % 5, 'x')));
  std::vector<graft::Encoding> expected;
  for (const auto& t : texts) expected.push_back(a->encode_one(graft::TextInput::single(t)));
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (size_t i = k; i < texts.size(); i += 4)
        if (a->encode_one(graft::TextInput::single(texts[i])).ids != expected[i].ids) ++bad[k];
    });
  for (auto& t : threads) t.join();
  CHECK(bad == std::vector<int>(4, 0));
}

TEST_CASE("graft tokenize reads both SentencePiece fixture directories; a missing module is a clear error") {
  for (const char* name : {"xlmr-style-spm", "albert-style-spm"}) {
    CAPTURE(name);
    std::string dir = graft::test::fixture(std::string("tokenizers/models/") + name);
    std::string jsonl = graft::test::fixture(std::string("tokenizers/") + name + ".jsonl");
    std::string out = graft::test::temp_dir("tok-cli") + "/out.jsonl";
    auto r = graft::test::run_graft("tokenize '" + dir + "' --jsonl '" + jsonl + "' --out '" + out + "'");
    CHECK(r.exit_code == 0);
    auto got = tokfix::read_jsonl(out);
    auto cases = tokfix::read_jsonl(jsonl);
    REQUIRE(got.size() == cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      CAPTURE(cases[i].at("case"));
      CHECK(got[i].at("encoding").at("ids") == cases[i].at("expected").at("encoding").at("ids"));
      CHECK(got[i].at("decode").at("text") == cases[i].at("expected").at("decode").at("text"));
    }
  }
  ::setenv("GRAFT_SPM_MODULE", "/nonexistent/libgraft_spm.so", 1);
  auto r = graft::test::run_graft("tokenize '" + graft::test::fixture("tokenizers/models/xlmr-style-spm") +
                                  "' --text hello");
  ::unsetenv("GRAFT_SPM_MODULE");
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("SentencePiece support is not available") != std::string::npos);
  CHECK(r.err.find("/nonexistent/libgraft_spm.so (not found)") != std::string::npos);
}
