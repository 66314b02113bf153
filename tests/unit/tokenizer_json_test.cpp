// The tokenizer.json pipeline: t5-small (Precompiled charsmap, WhitespaceSplit + Metaspace,
// Unigram, TemplateProcessing) against the golden fixtures, and every supported component on
// small hand-built tokenizer.json documents with the HF tokenizers results worked out by hand.
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

}  // namespace

TEST_CASE("t5-small tokenizer.json matches the shipped fixture subset") {
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/t5-small"));
  CHECK(tok->kind() == "unigram");
  CHECK(tok->vocab_size() == 32100);
  CHECK(tok->pad_id() == 0);
  CHECK(tok->sep_id() == 1);
  CHECK(tok->unk_id() == 2);
  CHECK(tok->cls_id() == -1);
  CHECK(tok->num_special_tokens(false) == 1);
  CHECK(tok->num_special_tokens(true) == 2);
  Tally t = run_file(*tok, graft::test::fixture("tokenizers/t5-small.jsonl"));
  CHECK(t.cases >= 40);
  report("subset t5-small", t);
}

TEST_CASE("t5-small matches the full shared fixtures") {
  if (!graft::test::have_shared()) {
    MESSAGE("../shared not present: full fixture set skipped");
    return;
  }
  auto tok = graft::core::load_tokenizer(graft::test::shared("fixtures/tokenizers/models/t5-small"));
  report("tokenizer.json t5-small", run_file(*tok, graft::test::shared("fixtures/tokenizers/t5-small.jsonl")));
}

// ---------------------------------------------------------------------------------------------
namespace {

/// A tokenizer from a tokenizer.json document written to a fresh directory.
std::shared_ptr<graft::Tokenizer> from_doc(const json& doc, const std::string& name) {
  std::string dir = graft::test::temp_dir(name);
  graft::core::write_file_atomic(dir + "/tokenizer.json", doc.dump());
  return graft::core::load_tokenizer(dir);
}

json word_level(std::vector<std::string> words) {
  json vocab = json::object();
  vocab["<unk>"] = 0;
  for (size_t i = 0; i < words.size(); ++i) vocab[words[i]] = static_cast<int>(i + 1);
  return json{{"type", "WordLevel"}, {"vocab", vocab}, {"unk_token", "<unk>"}};
}

json doc_with(json model, json normalizer = nullptr, json pre = nullptr, json decoder = nullptr, json post = nullptr) {
  return json{{"version", "1.0"},        {"added_tokens", json::array()}, {"normalizer", normalizer},
              {"pre_tokenizer", pre},    {"post_processor", post},        {"decoder", decoder},
              {"model", model}};
}

std::vector<std::string> tokens_of(const graft::Tokenizer& t, const std::string& text) {
  return t.encode_one(graft::TextInput::single(text)).tokens;
}
std::vector<std::pair<int64_t, int64_t>> offsets_of(const graft::Tokenizer& t, const std::string& text) {
  return t.encode_one(graft::TextInput::single(text)).offsets;
}
using Offs = std::vector<std::pair<int64_t, int64_t>>;
using Toks = std::vector<std::string>;

json split_pre(const char* behavior, bool invert = false) {
  return json{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
}

}  // namespace

TEST_CASE("Split pre-tokenizer behaviours (HF docs: the-final--countdown)") {
  auto model = word_level({"the", "final", "countdown", "-", "--", "the-", "final-", "-final", "-countdown"});
  const std::string text = "the-final--countdown";
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, split_pre("Removed")), "split-removed"), text) ==
        Toks{"the", "final", "countdown"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, split_pre("Isolated")), "split-isolated"), text) ==
        Toks{"the", "-", "final", "-", "-", "countdown"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, split_pre("MergedWithPrevious")), "split-prev"), text) ==
        Toks{"the-", "final-", "-", "countdown"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, split_pre("MergedWithNext")), "split-next"), text) ==
        Toks{"the", "-final", "-", "-countdown"}));
  auto contiguous = from_doc(doc_with(model, nullptr, split_pre("Contiguous")), "split-contig");
  CHECK((tokens_of(*contiguous, text) == Toks{"the", "-", "final", "--", "countdown"}));
  CHECK((offsets_of(*contiguous, text) == Offs{{0, 3}, {3, 4}, {4, 9}, {9, 11}, {11, 20}}));
  CHECK((contiguous->encode_one(graft::TextInput::single(text)).word_ids == std::vector<int64_t>{0, 1, 2, 3, 4}));
  // invert: the pattern matches become the kept pieces
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, split_pre("Removed", true)), "split-invert"), text) ==
        Toks{"-", "-", "-"}));
  // a regex pattern
  json re = {{"type", "Split"}, {"pattern", {{"Regex", "\\d+"}}}, {"behavior", "Isolated"}, {"invert", false}};
  CHECK((tokens_of(*from_doc(doc_with(word_level({"ab", "12", "c", "345"}), nullptr, re), "split-regex"), "ab12c345") ==
        Toks{"ab", "12", "c", "345"}));
}

TEST_CASE("Whitespace, WhitespaceSplit, Punctuation, Digits and Sequence pre-tokenizers") {
  auto model = word_level({"Hello", ",", "world", "!", "abc", "1", "2", "3", "123", "world!", "Hello,", "!?"});
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, json{{"type", "Whitespace"}}), "ws"), "Hello, world!") ==
        Toks{"Hello", ",", "world", "!"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, json{{"type", "WhitespaceSplit"}}), "wss"), "Hello,\t world!") ==
        Toks{"Hello,", "world!"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, json{{"type", "Punctuation"}}), "punct"), "world!?") ==
        Toks{"world", "!", "<unk>"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, json{{"type", "Punctuation"}, {"behavior", "Contiguous"}}), "punct2"),
                  "world!?") == Toks{"world", "!?"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, json{{"type", "Digits"}, {"individual_digits", true}}), "dig1"),
                  "abc123") == Toks{"abc", "1", "2", "3"}));
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, json{{"type", "Digits"}, {"individual_digits", false}}), "dig2"),
                  "abc123") == Toks{"abc", "123"}));
  json seq = {{"type", "Sequence"},
              {"pretokenizers", json::array({json{{"type", "WhitespaceSplit"}}, json{{"type", "Punctuation"}}})}};
  CHECK((tokens_of(*from_doc(doc_with(model, nullptr, seq), "seq"), "Hello, world!") == Toks{"Hello", ",", "world", "!"}));
}

TEST_CASE("normalizers: Lowercase, NFD + StripAccents, NFKC, Replace, Prepend, Strip, Sequence keep alignments") {
  auto model = word_level({"hello", "cafe", "fine", "a_b", "▁hi", "x"});
  json seq = {{"type", "Sequence"},
              {"normalizers", json::array({json{{"type", "NFD"}}, json{{"type", "StripAccents"}}, json{{"type", "Lowercase"}}})}};
  auto t = from_doc(doc_with(model, seq, json{{"type", "WhitespaceSplit"}}), "norm-seq");
  CHECK((tokens_of(*t, "HÉLLO Café") == Toks{"hello", "cafe"}));
  CHECK((offsets_of(*t, "HÉLLO Café") == Offs{{0, 6}, {7, 12}}));  // byte ranges of the original words
  auto k = from_doc(doc_with(model, json{{"type", "NFKC"}}, json{{"type", "WhitespaceSplit"}}), "norm-nfkc");
  CHECK((tokens_of(*k, "\xEF\xAC\x81ne") == Toks{"fine"}));  // U+FB01 ligature
  CHECK((offsets_of(*k, "\xEF\xAC\x81ne") == Offs{{0, 5}}));
  json rep = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}};
  CHECK((tokens_of(*from_doc(doc_with(model, rep), "norm-rep"), "a b") == Toks{"a_b"}));
  json pre = {{"type", "Prepend"}, {"prepend", "▁"}};
  auto p = from_doc(doc_with(model, pre), "norm-prepend");
  CHECK((tokens_of(*p, "hi") == Toks{"▁hi"}));
  CHECK((offsets_of(*p, "hi") == Offs{{0, 2}}));
  json strip = {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}};
  auto s = from_doc(doc_with(model, strip), "norm-strip");
  CHECK((tokens_of(*s, "  x  ") == Toks{"x"}));
  CHECK((offsets_of(*s, "  x  ") == Offs{{2, 3}}));
}

TEST_CASE("Metaspace prepend schemes and decoder") {
  auto model = word_level({"▁a", "▁b", "b", "a"});
  auto with = [&](const char* scheme, const std::string& name) {
    json m = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}, {"split", true}};
    return from_doc(doc_with(model, nullptr, m, m), name);
  };
  CHECK((tokens_of(*with("always", "ms-always"), "a b") == Toks{"▁a", "▁b"}));
  CHECK((tokens_of(*with("never", "ms-never"), "a b") == Toks{"a", "▁b"}));
  auto first = with("first", "ms-first");
  CHECK((tokens_of(*first, "a b") == Toks{"▁a", "▁b"}));
  auto e = first->encode_one(graft::TextInput::single("a b"));
  CHECK(first->decode(e.ids) == "a b");
  CHECK((with("never", "ms-never2")->decode({3, 2}) == "b b"));  // "b" "▁b": only a leading ▁ is dropped (scheme != never)
}

TEST_CASE("BPE options: continuing_subword_prefix, end_of_word_suffix, byte_fallback, fuse_unk, ignore_merges") {
  json vocab = {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"##b", 3}, {"a##b", 4}, {"ab", 5}, {"c</w>", 6}, {"<0x61>", 7},
                {"<0xC3>", 8}, {"<0xA9>", 9}, {"abab", 10}, {"c", 11}};
  json bpe = {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({json::array({"a", "##b"})})},
              {"unk_token", "<unk>"}, {"continuing_subword_prefix", "##"}};
  auto t = from_doc(doc_with(bpe), "bpe-prefix");
  // "ab" → a + ##b → merged "ab" (prefix stripped from the right part)
  CHECK((tokens_of(*t, "ab") == Toks{"ab"}));
  CHECK((tokens_of(*t, "ba") == Toks{"b", "<unk>"}));  // "##a" is not in the vocab

  json bpe2 = {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array()}, {"unk_token", "<unk>"},
               {"end_of_word_suffix", "</w>"}, {"fuse_unk", true}};
  auto s = from_doc(doc_with(bpe2), "bpe-suffix");
  CHECK((tokens_of(*s, "ac") == Toks{"a", "c</w>"}));
  auto fused = s->encode_one(graft::TextInput::single("xyz"));
  CHECK((fused.tokens == Toks{"<unk>"}));
  CHECK((fused.offsets == Offs{{0, 3}}));

  json bpe3 = {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({"a b"})}, {"unk_token", "<unk>"},
               {"byte_fallback", true}};
  auto f = from_doc(doc_with(bpe3), "bpe-bytes");
  CHECK((tokens_of(*f, "é") == Toks{"<0xC3>", "<0xA9>"}));
  CHECK((tokens_of(*f, "abab") == Toks{"ab", "ab"}));
  json bpe4 = bpe3;
  bpe4["ignore_merges"] = true;
  CHECK((tokens_of(*from_doc(doc_with(bpe4), "bpe-ignore"), "abab") == Toks{"abab"}));
}

TEST_CASE("Unigram byte_fallback and unknown pieces") {
  json vocab = json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}), json::array({"b", -2.0}),
                            json::array({"ab", -1.5}), json::array({"<0xC3>", -5.0}), json::array({"<0xA9>", -5.0})});
  json uni = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}, {"byte_fallback", true}};
  auto t = from_doc(doc_with(uni), "unigram-bytes");
  CHECK((tokens_of(*t, "ab") == Toks{"ab"}));           // -1.5 beats a + b = -3
  CHECK((tokens_of(*t, "abé") == Toks{"ab", "<0xC3>", "<0xA9>"}));
  CHECK((offsets_of(*t, "abé") == Offs{{0, 2}, {2, 4}, {2, 4}}));
  uni["byte_fallback"] = false;
  auto u = from_doc(doc_with(uni), "unigram-unk");
  auto e = u->encode_one(graft::TextInput::single("xyab"));
  CHECK((e.tokens == Toks{"xy", "ab"}));  // consecutive unknown chars are fused, the token keeps the text
  CHECK((e.ids == std::vector<int64_t>{0, 3}));
}

TEST_CASE("decoders: Replace + ByteFallback + Fuse + Strip (Llama chain), BPEDecoder, invalid bytes") {
  json vocab = json::array({json::array({"<unk>", 0.0}), json::array({"▁Hi", -1.0}), json::array({"▁", -1.0}),
                            json::array({"<0xC3>", -1.0}), json::array({"<0xA9>", -1.0}), json::array({"<0xFF>", -1.0})});
  json dec = {{"type", "Sequence"},
              {"decoders", json::array({json{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
                                        json{{"type", "ByteFallback"}}, json{{"type", "Fuse"}},
                                        json{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  auto t = from_doc(doc_with(json{{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}}, nullptr, nullptr, dec), "dec-llama");
  CHECK((t->decode({1, 2, 3, 4}) == "Hi é"));
  CHECK((t->decode({1, 5}) == "Hi\xEF\xBF\xBD"));  // a lone invalid byte → U+FFFD
  json bpe = {{"type", "BPE"}, {"vocab", {{"hi</w>", 0}, {"th", 1}, {"ere</w>", 2}}}, {"merges", json::array()}};
  auto b = from_doc(doc_with(bpe, nullptr, nullptr, json{{"type", "BPEDecoder"}, {"suffix", "</w>"}}), "dec-bpe");
  CHECK((b->decode({0, 1, 2}) == "hi there"));
}

TEST_CASE("the pipeline's BertNormalizer, BertPreTokenizer and WordPiece model agree with the WordPiece tokenizer") {
  // A saved BERT tokenizer.json with its decoder wrapped in a Sequence runs through the generic
  // pipeline instead of the WordPiece fast path; it must reproduce the fixtures too.
  for (const char* name : {"bert-base-uncased", "kcbert-base"}) {
    CAPTURE(name);
    auto wp = graft::core::load_tokenizer(graft::test::fixture(std::string("tokenizers/models/") + name));
    std::string dir = graft::test::temp_dir(std::string("pipeline-") + name);
    graft::core::save_tokenizer(*wp, dir);
    json doc = json::parse(graft::core::read_file(dir + "/tokenizer.json"));
    doc["decoder"] = json{{"type", "Sequence"}, {"decoders", json::array({doc["decoder"]})}};
    fs::remove(dir + "/vocab.txt");
    graft::core::write_file_atomic(dir + "/tokenizer.json", doc.dump());
    auto p = graft::core::load_tokenizer(dir);
    CHECK(p->kind() == "wordpiece");
    CHECK(p->cls_id() == wp->cls_id());
    CHECK(p->mask_id() == wp->mask_id());
    report(std::string("pipeline ") + name, run_file(*p, graft::test::fixture(std::string("tokenizers/") + name + ".jsonl")));
  }
}

TEST_CASE("unsupported components and broken files are refused with the file and field named") {
  auto model = word_level({"a"});
  auto refused = [&](const json& doc, const std::string& name, const std::string& part) {
    try {
      from_doc(doc, name);
      FAIL("expected a FormatError for " << name);
    } catch (const graft::FormatError& e) {
      std::string msg = e.what();
      CHECK_MESSAGE(msg.find("tokenizer.json") != std::string::npos, msg);
      CHECK_MESSAGE(msg.find(part) != std::string::npos, msg);
    }
  };
  refused(doc_with(model, json{{"type", "Nmt"}}), "bad-norm", "normalizer type 'Nmt'");
  refused(doc_with(model, nullptr, json{{"type", "UnicodeScripts"}}), "bad-pre", "pre_tokenizer type 'UnicodeScripts'");
  refused(doc_with(model, nullptr, nullptr, json{{"type", "CTC"}}), "bad-dec", "decoder type 'CTC'");
  refused(doc_with(json{{"type", "Tiktoken"}}), "bad-model", "model type 'Tiktoken'");
  refused(doc_with(model, nullptr, json{{"type", "Split"}, {"pattern", {{"Regex", "("}}}, {"behavior", "Isolated"}}),
          "bad-regex", "invalid regex");
  refused(doc_with(json{{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", json::array({"a b"})}}), "bad-merge",
          "model.merges[0]");
  refused(doc_with(model, nullptr, nullptr, nullptr, json{{"type", "TemplateProcessing"}, {"single", json::array({json{{"SpecialToken", {{"id", "[X]"}}}}})}, {"pair", json::array()}, {"special_tokens", json::object()}}),
          "bad-template", "[X]");
}

TEST_CASE("invalid UTF-8 input is a DataError, not a crash") {
  auto t = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/t5-small"));
  CHECK_THROWS_AS(t->encode_one(graft::TextInput::single(std::string("ab\xC3(", 4))), graft::DataError);
  try {
    t->encode_one(graft::TextInput::single(std::string("ab\xFF", 3)));
  } catch (const graft::DataError& e) {
    CHECK(std::string(e.what()).find("not valid UTF-8 at byte 2") != std::string::npos);
  }
}

TEST_CASE("t5-small saves and reloads with identical behaviour") {
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/t5-small"));
  std::string dir = graft::test::temp_dir("saved-t5");
  graft::core::save_tokenizer(*tok, dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) CHECK(fs::exists(dir + "/" + f));
  auto again = graft::core::load_tokenizer(dir);
  CHECK(again->pad_id() == tok->pad_id());
  CHECK(again->sep_id() == tok->sep_id());
  report("saved+reloaded t5-small", run_file(*again, graft::test::fixture("tokenizers/t5-small.jsonl")));
}
