// Byte-level BPE (RoBERTa) against the golden fixtures: tokenizer.json, the slow layout
// (vocab.json + merges.txt + tokenizer_config.json), save/reload; added tokens; bad input.
#include <doctest/doctest.h>

#include "test_support.h"
#include "tokenizer_fixture.h"

#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <filesystem>

namespace fs = std::filesystem;
using tokfix::json;

namespace {

struct Tally {
  size_t cases = 0, windows = 0, errors = 0;
  std::vector<std::string> failures;
};

Tally run_file(const graft::Tokenizer& tok, const std::string& jsonl) {
  Tally t;
  for (const auto& c : tokfix::read_jsonl(jsonl)) {
    ++t.cases;
    const json& et = c.at("expected").at("truncation");
    if (et.contains("error"))
      ++t.errors;
    else
      t.windows += et.at("encodings").size();
    std::string diff;
    try {
      diff = tokfix::compare_case(c, tokfix::run_case(tok, c));
    } catch (const std::exception& e) {
      diff = c.at("case").get<std::string>() + ": threw " + e.what();
    }
    if (!diff.empty()) t.failures.push_back(diff);
  }
  return t;
}

void report(const std::string& label, const Tally& t) {
  MESSAGE(label << ": " << (t.cases - t.failures.size()) << "/" << t.cases << " cases pass (" << t.windows
                << " truncation windows, " << t.errors << " refusals)");
  for (size_t i = 0; i < t.failures.size() && i < 8; ++i) MESSAGE("  " << t.failures[i]);
  CHECK(t.cases > 0);
  CHECK(t.failures.empty());
}

std::string roberta_dir() { return graft::test::fixture("tokenizers/models/roberta-base"); }

}  // namespace

TEST_CASE("roberta-base tokenizer.json matches the shipped fixture subset") {
  auto tok = graft::core::load_tokenizer(roberta_dir());
  CHECK(tok->kind() == "bpe");
  CHECK(tok->vocab_size() == 50265);
  CHECK(tok->cls_id() == 0);
  CHECK(tok->pad_id() == 1);
  CHECK(tok->sep_id() == 2);
  CHECK(tok->unk_id() == 3);
  CHECK(tok->mask_id() == 50264);
  CHECK(tok->num_special_tokens(false) == 2);
  CHECK(tok->num_special_tokens(true) == 4);
  Tally t = run_file(*tok, graft::test::fixture("tokenizers/roberta-base.jsonl"));
  CHECK(t.cases >= 40);
  report("subset roberta-base", t);
}

TEST_CASE("roberta-base matches the full shared fixtures (tokenizer.json and vocab.json + merges.txt)") {
  if (!graft::test::have_shared()) {
    MESSAGE("../shared not present: full fixture set skipped");
    return;
  }
  std::string dir = graft::test::shared("fixtures/tokenizers/models/roberta-base");
  std::string jsonl = graft::test::shared("fixtures/tokenizers/roberta-base.jsonl");
  auto from_json = graft::core::load_tokenizer(dir);
  report("tokenizer.json roberta-base", run_file(*from_json, jsonl));

  std::string tmp = graft::test::temp_dir("slow-roberta");
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(dir + "/" + f, tmp + "/" + f);
  auto slow = graft::core::load_tokenizer(tmp);
  CHECK(slow->kind() == "bpe");
  CHECK(slow->mask_id() == 50264);
  report("vocab.json + merges.txt roberta-base", run_file(*slow, jsonl));
}

TEST_CASE("roberta-base saves tokenizer.json + vocab.json + merges.txt; both layouts reload identically") {
  auto tok = graft::core::load_tokenizer(roberta_dir());
  std::string dir = graft::test::temp_dir("saved-roberta");
  graft::core::save_tokenizer(*tok, dir);
  for (const char* f : {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    CHECK(fs::exists(dir + "/" + f));
  json cfg = json::parse(graft::core::read_file(dir + "/tokenizer_config.json"));
  CHECK(cfg.at("tokenizer_class") == "RobertaTokenizer");
  CHECK(cfg.at("add_prefix_space") == false);
  CHECK(cfg.at("model_max_length") == 512);
  const std::string jsonl = graft::test::fixture("tokenizers/roberta-base.jsonl");
  report("saved+reloaded roberta-base (tokenizer.json)", run_file(*graft::core::load_tokenizer(dir), jsonl));

  // The slow layout alone (what RobertaTokenizer reads): vocab.json + merges.txt + config.
  fs::remove(dir + "/tokenizer.json");
  auto slow = graft::core::load_tokenizer(dir);
  CHECK(slow->vocab_size() == 50265);
  CHECK(slow->mask_id() == 50264);
  report("saved+reloaded roberta-base (vocab.json + merges.txt)", run_file(*slow, jsonl));
}

TEST_CASE("byte-level BPE slow layout: added_tokens.json extends the vocabulary; missing files are named") {
  auto tok = graft::core::load_tokenizer(roberta_dir());
  std::string dir = graft::test::temp_dir("roberta-added");
  graft::core::save_tokenizer(*tok, dir);
  fs::remove(dir + "/tokenizer.json");
  graft::core::write_file_atomic(dir + "/added_tokens.json", R"({"graftword": 50265})");
  auto t = graft::core::load_tokenizer(dir);
  CHECK(t->vocab_size() == 50266);
  CHECK(t->token_to_id("graftword") == 50265);
  auto e = t->encode_one(graft::TextInput::single("a graftword here"));
  auto it = std::find(e.ids.begin(), e.ids.end(), 50265);
  REQUIRE(it != e.ids.end());
  size_t k = static_cast<size_t>(it - e.ids.begin());
  CHECK(e.tokens[k] == "graftword");
  CHECK(e.offsets[k] == std::pair<int64_t, int64_t>{2, 11});
  CHECK(e.special_tokens_mask[k] == 0);
  CHECK(t->decode(e.ids) == "a graftword here");

  // a saved tokenizer.json keeps the added token
  std::string again = graft::test::temp_dir("roberta-added-again");
  graft::core::save_tokenizer(*t, again);
  CHECK(graft::core::load_tokenizer(again)->token_to_id("graftword") == 50265);

  fs::remove(dir + "/merges.txt");
  try {
    graft::core::load_tokenizer(dir);
    FAIL("expected a FormatError");
  } catch (const graft::FormatError& e) {
    CHECK(std::string(e.what()).find("vocab.json without merges.txt") != std::string::npos);
  }
  graft::core::write_file_atomic(dir + "/merges.txt", "#version: 0.2\n\xC4\xA0 t\nbad line here\n");
  try {
    graft::core::load_tokenizer(dir);
    FAIL("expected a FormatError");
  } catch (const graft::FormatError& e) {
    CHECK(std::string(e.what()).find("merges.txt:3") != std::string::npos);
  }
}

TEST_CASE("roberta <mask> eats the space before it; literal specials match; pairs and pre-split words") {
  auto tok = graft::core::load_tokenizer(roberta_dir());
  auto e = tok->encode_one(graft::TextInput::single("Paris is the <mask> of France."));
  std::vector<int64_t> want = {0, 32826, 16, 5, 50264, 9, 1470, 4, 2};
  CHECK(e.ids == want);
  CHECK(e.tokens[4] == " <mask>");  // HF keeps the eaten space in the token string...
  CHECK(e.offsets[4] == std::pair<int64_t, int64_t>{13, 19});  // ...but not in the offsets
  CHECK(tok->decode(e.ids) == "Paris is the of France.");  // <mask> is special: skipped
  CHECK(tok->decode(e.ids, false) == "<s>Paris is the<mask> of France.</s>");

  auto p = tok->encode_one(graft::TextInput::with_pair("Hi there", "Hello"));
  CHECK(p.tokens == std::vector<std::string>{"<s>", "Hi", "Ġthere", "</s>", "</s>", "Hello", "</s>"});
  CHECK(p.type_ids == std::vector<int64_t>(7, 0));
  CHECK(p.sequence_ids == std::vector<int64_t>{-1, 0, 0, -1, -1, 1, -1});

  graft::TextInput w;
  w.words = {"Hello", "world"};
  auto pw = tok->encode_one(w);
  CHECK(pw.tokens == std::vector<std::string>{"<s>", "ĠHello", "Ġworld", "</s>"});
  CHECK(pw.offsets == std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 5}, {0, 5}, {0, 0}});
  CHECK(pw.word_ids == std::vector<int64_t>{-1, 0, 1, -1});
}

TEST_CASE("added tokens: single_word and rstrip") {
  json doc = json::parse(graft::core::read_file(roberta_dir() + "/tokenizer.json"));
  doc["added_tokens"].push_back(json{{"id", 50265}, {"content", "zz"}, {"single_word", true}, {"lstrip", false},
                                     {"rstrip", true}, {"normalized", false}, {"special", true}});
  std::string dir = graft::test::temp_dir("roberta-single-word");
  graft::core::write_file_atomic(dir + "/tokenizer.json", doc.dump());
  auto t = graft::core::load_tokenizer(dir);
  auto e = t->encode_one(graft::TextInput::single("a zz  b"), graft::EncodeOptions{false});
  // "a " before the token is byte-level encoded on its own: a, Ġ
  REQUIRE(e.tokens == std::vector<std::string>{"a", "Ġ", "zz  ", "b"});  // rstrip: the spaces belong to it
  CHECK(e.ids[2] == 50265);
  CHECK(e.offsets[2] == std::pair<int64_t, int64_t>{2, 4});  // RobertaProcessing trims the spaces from offsets
  auto inside = t->encode_one(graft::TextInput::single("azz"), graft::EncodeOptions{false});
  CHECK(std::find(inside.ids.begin(), inside.ids.end(), 50265) == inside.ids.end());  // not a whole word
  CHECK(t->decode(e.ids) == "a b");  // special → skipped
}

TEST_CASE("graft tokenize runs the roberta-base and t5-small directories") {
  auto q = [](const std::string& s) { return "'" + s + "'"; };
  auto r = graft::test::run_graft("tokenize " + q(roberta_dir()) + " --text 'Hello world'");
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  json j = json::parse(r.out.substr(0, r.out.find('\n')));
  CHECK(j.at("tokens") == json::array({"<s>", "Hello", "Ġworld", "</s>"}));
  std::string out = graft::test::temp_dir("cli-t5") + "/out.jsonl";
  r = graft::test::run_graft("tokenize " + q(graft::test::fixture("tokenizers/models/t5-small")) + " --jsonl " +
                             q(graft::test::fixture("tokenizers/t5-small.jsonl")) + " --out " + q(out));
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  auto cases = tokfix::read_jsonl(graft::test::fixture("tokenizers/t5-small.jsonl"));
  auto got = tokfix::read_jsonl(out);
  REQUIRE(got.size() == cases.size());
  size_t ok = 0;
  for (size_t i = 0; i < cases.size(); ++i) ok += tokfix::compare_case(cases[i], got[i]).empty();
  CHECK(ok == cases.size());
}
