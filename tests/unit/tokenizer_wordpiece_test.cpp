// WordPiece against the golden fixtures: every case (encoding, truncation windows / refusals,
// decode texts) of bert-base-uncased, bert-base-cased and kcbert-base. The subset shipped in
// tests/fixtures/tokenizers always runs; the full set in ../shared when present.
#include <doctest/doctest.h>

#include "test_support.h"
#include "tokenizer_fixture.h"

#include <graft/core/tokenizers.h>

#include <filesystem>

namespace fs = std::filesystem;
using tokfix::json;

namespace {

const char* kNames[] = {"bert-base-uncased", "bert-base-cased", "kcbert-base"};

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
  for (size_t i = 0; i < t.failures.size() && i < 5; ++i) MESSAGE("  " << t.failures[i]);
  CHECK(t.cases > 0);
  CHECK(t.failures.empty());
}

}  // namespace

TEST_CASE("wordpiece matches the shipped fixture subset (vocab.txt + tokenizer_config.json)") {
  for (const char* name : kNames) {
    CAPTURE(name);
    auto tok = graft::core::load_tokenizer(graft::test::fixture(std::string("tokenizers/models/") + name));
    REQUIRE(tok);
    CHECK(tok->kind() == "wordpiece");
    Tally t = run_file(*tok, graft::test::fixture(std::string("tokenizers/") + name + ".jsonl"));
    CHECK(t.cases >= 40);
    report(std::string("subset ") + name, t);
  }
}

TEST_CASE("wordpiece matches the full shared fixtures (tokenizer.json and vocab.txt)") {
  if (!graft::test::have_shared()) {
    MESSAGE("../shared not present: full fixture set skipped");
    return;
  }
  for (const char* name : kNames) {
    CAPTURE(name);
    std::string dir = graft::test::shared(std::string("fixtures/tokenizers/models/") + name);
    std::string jsonl = graft::test::shared(std::string("fixtures/tokenizers/") + name + ".jsonl");
    REQUIRE(fs::exists(dir + "/tokenizer.json"));
    auto from_json = graft::core::load_tokenizer(dir);
    report(std::string("tokenizer.json ") + name, run_file(*from_json, jsonl));

    // The same directory without tokenizer.json: vocab.txt + tokenizer_config.json.
    std::string tmp = graft::test::temp_dir(std::string("vocab-") + name);
    for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(dir + "/" + f, tmp + "/" + f);
    auto from_vocab = graft::core::load_tokenizer(tmp);
    report(std::string("vocab.txt ") + name, run_file(*from_vocab, jsonl));
  }
}

TEST_CASE("a saved tokenizer reloads with identical behaviour") {
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/kcbert-base"));
  std::string dir = graft::test::temp_dir("saved-tok");
  graft::core::save_tokenizer(*tok, dir);
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    CHECK(fs::exists(dir + "/" + f));
  CHECK(graft::core::read_file(dir + "/vocab.txt") ==
        graft::core::read_file(graft::test::fixture("tokenizers/models/kcbert-base/vocab.txt")));
  auto again = graft::core::load_tokenizer(dir);  // reads the written tokenizer.json
  Tally t = run_file(*again, graft::test::fixture("tokenizers/kcbert-base.jsonl"));
  report("saved+reloaded kcbert-base", t);

  // tokenizer.json alone (what HF's fast tokenizer reads) also gives the same results.
  std::string only_json = graft::test::temp_dir("saved-json-only");
  fs::copy_file(dir + "/tokenizer.json", only_json + "/tokenizer.json");
  auto from_json = graft::core::load_tokenizer(only_json);
  report("tokenizer.json only kcbert-base", run_file(*from_json, graft::test::fixture("tokenizers/kcbert-base.jsonl")));
  CHECK(from_json->cls_id() == tok->cls_id());
  CHECK(from_json->mask_id() == tok->mask_id());
}

TEST_CASE("the shared uncased tokenizer.json (no model type key) is read as WordPiece") {
  if (!graft::test::have_shared()) return;
  std::string dir = graft::test::shared("fixtures/tokenizers/models/bert-base-uncased");
  auto text = graft::core::read_file(dir + "/tokenizer.json");
  REQUIRE(text.find("\"model\":{\"unk_token\"") != std::string::npos);  // really has no "type"
  auto tok = graft::core::load_tokenizer(dir);
  CHECK(tok->vocab_size() == 30522);
  CHECK(tok->cls_id() == 101);
  CHECK(tok->sep_id() == 102);
  CHECK(tok->pad_id() == 0);
  CHECK(tok->mask_id() == 103);
  CHECK(tok->unk_id() == 100);
  CHECK(tok->num_special_tokens(false) == 2);
  CHECK(tok->num_special_tokens(true) == 3);
}
