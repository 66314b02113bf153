// `graft tokenize`: fixture-shaped cases in, one result line per case out.
#include <doctest/doctest.h>

#include "test_support.h"
#include "tokenizer_fixture.h"

#include <graft/core/files.h>

#include <fstream>
#include <sstream>

using tokfix::json;

namespace {
std::string q(const std::string& s) { return "'" + s + "'"; }
}  // namespace

TEST_CASE("graft tokenize --help") {
  auto r = graft::test::run_graft("tokenize --help");
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("--jsonl") != std::string::npos);
  CHECK(r.out.find("offsets_utf8") != std::string::npos);
}

TEST_CASE("graft tokenize reproduces fixture cases, including a refused truncation") {
  auto cases = tokfix::read_jsonl(graft::test::fixture("tokenizers/kcbert-base.jsonl"));
  std::vector<json> picked;
  bool have_error = false;
  for (const auto& c : cases) {
    bool is_error = c.at("expected").at("truncation").contains("error");
    if (is_error && !have_error) {
      picked.push_back(c);
      have_error = true;
    } else if (!is_error && picked.size() < 6) {
      picked.push_back(c);
    }
  }
  REQUIRE(have_error);
  std::string dir = graft::test::temp_dir("cli-tok");
  {
    std::ofstream f(dir + "/cases.jsonl");
    for (const auto& c : picked) {
      json in = {{"case", c.at("case")}, {"input", c.at("input")}, {"options", c.at("options")}};
      f << in.dump() << "\n";
    }
  }
  auto r = graft::test::run_graft("tokenize " + q(graft::test::fixture("tokenizers/models/kcbert-base")) +
                                  " --jsonl " + q(dir + "/cases.jsonl") + " --out " + q(dir + "/out.jsonl"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto out = tokfix::read_jsonl(dir + "/out.jsonl");
  REQUIRE(out.size() == picked.size());
  for (size_t i = 0; i < out.size(); ++i) {
    CHECK(out[i].at("case") == picked[i].at("case"));
    CHECK(tokfix::compare_case(picked[i], out[i]) == "");
  }
}

TEST_CASE("graft tokenize --text prints tokens and byte offsets") {
  auto r = graft::test::run_graft("tokenize " + q(graft::test::fixture("tokenizers/models/bert-base-uncased")) +
                                  " --text 'Hello, World'");
  REQUIRE(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j.at("tokens") == json({"[CLS]", "hello", ",", "world", "[SEP]"}));
  CHECK(j.at("offsets_utf8") == json::parse("[[0,0],[0,5],[5,6],[7,12],[0,0]]"));
}

TEST_CASE("graft tokenize reports bad input with file:line and exit code 3") {
  std::string dir = graft::test::temp_dir("cli-tok-bad");
  std::string model = q(graft::test::fixture("tokenizers/models/bert-base-uncased"));
  {
    std::ofstream f(dir + "/bad.jsonl");
    f << R"({"case": "ok", "input": {"text": "fine"}})" << "\n" << R"({"case": "broken", "input": )" << "\n";
  }
  auto r = graft::test::run_graft("tokenize " + model + " --jsonl " + q(dir + "/bad.jsonl"));
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("bad.jsonl:2: invalid JSON") != std::string::npos);
  {
    std::ofstream f(dir + "/field.jsonl");
    f << R"({"case": "x", "input": {"txt": "typo"}})" << "\n";
  }
  r = graft::test::run_graft("tokenize " + model + " --jsonl " + q(dir + "/field.jsonl"));
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("field.jsonl:1: field 'input.text' is missing") != std::string::npos);
  {
    std::ofstream f(dir + "/type.jsonl");
    f << R"({"input": {"text": "a"}, "options": {"truncation": {"max_length": "32"}}})" << "\n";
  }
  r = graft::test::run_graft("tokenize " + model + " --jsonl " + q(dir + "/type.jsonl"));
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("options.truncation.max_length' must be an integer") != std::string::npos);

  r = graft::test::run_graft("tokenize " + q(dir) + " --jsonl " + q(dir + "/type.jsonl"));
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("no tokenizer files found") != std::string::npos);
  r = graft::test::run_graft("tokenize " + model);
  CHECK(r.exit_code == 2);
}
