// WordPiece edge cases and error paths: empty/whitespace input, invalid UTF-8, control chars,
// CJK, accents, over-long words, truncation refusals and windows, loading errors, options,
// added-token flags, thread safety.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>
#include <graft/registrar.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using graft::Encoding;
using graft::EncodeOptions;
using graft::TextInput;

namespace {

std::shared_ptr<graft::Tokenizer> uncased() {
  static auto t = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/bert-base-uncased"));
  return t;
}
std::shared_ptr<graft::Tokenizer> cased() {
  static auto t = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/bert-base-cased"));
  return t;
}

std::vector<std::string> tokens(const graft::Tokenizer& t, const std::string& text) {
  return t.encode_one(TextInput::single(text)).tokens;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A tiny WordPiece tokenizer.json in the layout of bert-base-uncased's (no model "type").
std::string tiny_json(const std::string& added_extra = "", const std::string& model_extra = "") {
  return R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":[
 {"id":0,"special":true,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
 {"id":1,"special":true,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
 {"id":2,"special":true,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
 {"id":3,"special":true,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false},
 {"id":4,"special":true,"content":"[MASK]","single_word":false,"lstrip":true,"rstrip":false,"normalized":false})" +
         added_extra + R"(],
 "normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
 "pre_tokenizer":{"type":"BertPreTokenizer"},
 "post_processor":{"type":"BertProcessing","sep":["[SEP]",3],"cls":["[CLS]",2]},
 "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
 "model":{)" + model_extra +
         R"("unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
  "vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"un":5,"##aff":6,"##able":7,"play":8,"##ing":9,
           ".":10,"hello":11,"new":12,"york":13,"x":14}}})";
}

std::string tiny_dir(const std::string& json) {
  std::string dir = graft::test::temp_dir("tiny-tok");
  write(dir + "/tokenizer.json", json);
  return dir;
}

}  // namespace

TEST_CASE("empty and whitespace-only text give only the special tokens") {
  for (std::string text : {"", "   ", "\t\n \r\n", "\x01\x02"}) {
    CAPTURE(text);
    Encoding e = uncased()->encode_one(TextInput::single(text));
    CHECK(e.tokens == std::vector<std::string>{"[CLS]", "[SEP]"});
    CHECK(e.offsets == std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 0}});
    CHECK(e.special_tokens_mask == std::vector<uint8_t>{1, 1});
    CHECK(e.word_ids == std::vector<int64_t>{-1, -1});
  }
  EncodeOptions no_special;
  no_special.add_special_tokens = false;
  CHECK(uncased()->encode_one(TextInput::single(""), no_special).size() == 0);
  CHECK(uncased()->decode({}) == "");
}

TEST_CASE("invalid UTF-8 is a DataError naming the byte offset") {
  for (std::string bad : {std::string("ok \xff"), std::string("ab\xc3"), std::string("\xed\xa0\x80"),
                          std::string("\xc0\xaf"), std::string("x\xf4\x90\x80\x80")}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(uncased()->encode_one(TextInput::single(bad)), graft::DataError);
  }
  try {
    uncased()->encode_one(TextInput::single("hello \xff"));
    FAIL("no error");
  } catch (const graft::DataError& e) {
    CHECK(std::string(e.what()).find("not valid UTF-8 at byte 6") != std::string::npos);
  }
  CHECK_THROWS_AS(uncased()->encode_one(TextInput::with_pair("fine", "bad \x80")), graft::DataError);
  TextInput words;
  words.words = {"ok", "b\xfe"};
  CHECK_THROWS_AS(uncased()->encode_one(words), graft::DataError);
}

TEST_CASE("control and format characters are removed without splitting the word") {
  CHECK(tokens(*uncased(), std::string("hel\x01lo", 6)) == tokens(*uncased(), "hello"));
  CHECK(tokens(*uncased(), std::string("hel\0lo", 6)) == tokens(*uncased(), "hello"));
  CHECK(tokens(*uncased(), "hel\u200blo") == tokens(*uncased(), "hello"));  // ZWSP (Cf)
  CHECK(tokens(*uncased(), "hel\ufffdlo") == tokens(*uncased(), "hello"));
  // offsets still point into the original bytes
  Encoding e = uncased()->encode_one(TextInput::single("\x01hello"));
  CHECK(e.tokens[1] == "hello");
  CHECK(e.offsets[1] == std::pair<int64_t, int64_t>{1, 6});
  // tab / newline / no-break space separate words
  CHECK(tokens(*uncased(), "hello\tworld") == std::vector<std::string>{"[CLS]", "hello", "world", "[SEP]"});
  CHECK(tokens(*uncased(), "hello\u00a0world") == std::vector<std::string>{"[CLS]", "hello", "world", "[SEP]"});
}

TEST_CASE("CJK ideographs become separate words with their own byte ranges") {
  Encoding e = uncased()->encode_one(TextInput::single("日本x"));
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "日", "本", "x", "[SEP]"});
  CHECK(e.offsets[1] == std::pair<int64_t, int64_t>{0, 3});
  CHECK(e.offsets[2] == std::pair<int64_t, int64_t>{3, 6});
  CHECK(e.offsets[3] == std::pair<int64_t, int64_t>{6, 7});
  CHECK(e.word_ids == std::vector<int64_t>{-1, 0, 1, 2, -1});
}

TEST_CASE("accents: uncased strips them (offsets cover the original bytes), cased keeps them") {
  Encoding e = uncased()->encode_one(TextInput::single("Café"));
  CHECK(e.tokens[1] == "cafe");
  CHECK(e.offsets[1] == std::pair<int64_t, int64_t>{0, 5});
  // decomposed input (e + combining acute) gives the same token
  CHECK(tokens(*uncased(), "Cafe\u0301") == tokens(*uncased(), "Café"));
  // cased keeps the accent: the word is not the accent-free one (bert-base-cased has no "##é" path here → [UNK])
  CHECK(tokens(*cased(), "Café") != tokens(*cased(), "Cafe"));
  // strip_accents can be forced independently of lowercase
  graft::core::WordPieceOptions o;
  o.lowercase = false;
  o.strip_accents = graft::Value(true);
  auto t = graft::core::make_wordpiece(o, graft::test::fixture("tokenizers/models/bert-base-cased"));
  CHECK(tokens(*t, "Café")[1] == "Cafe");
}

TEST_CASE("words longer than max_input_chars_per_word become one [UNK]; exactly the limit is split") {
  std::string w100(100, 'a'), w101(101, 'a');
  Encoding e = uncased()->encode_one(TextInput::single(w101 + " x"));
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "[UNK]", "x", "[SEP]"});
  CHECK(e.offsets[1] == std::pair<int64_t, int64_t>{0, 101});
  Encoding f = uncased()->encode_one(TextInput::single(w100));
  REQUIRE(f.size() > 3);
  std::string joined;
  for (size_t i = 1; i + 1 < f.size(); ++i) {
    CHECK(f.tokens[i] != "[UNK]");
    joined += i == 1 ? f.tokens[i] : f.tokens[i].substr(2);
    CHECK(f.word_ids[i] == 0);
  }
  CHECK(joined == w100);
  CHECK(f.offsets[1].first == 0);
  CHECK(f.offsets[f.size() - 2].second == 100);
  // a word with a piece missing from the vocab is one [UNK] spanning the word
  Encoding g = uncased()->encode_one(TextInput::single("x\u2603y"));  // snowman: no piece
  CHECK(g.tokens == std::vector<std::string>{"[CLS]", "[UNK]", "[SEP]"});
  CHECK(g.offsets[1] == std::pair<int64_t, int64_t>{0, 5});
}

TEST_CASE("truncation refusals are TruncationErrors with HF's kinds") {
  EncodeOptions o;
  o.max_length = 4;  // room for 2 tokens after [CLS] [SEP]
  o.stride = 2;
  o.return_overflowing = true;
  try {
    uncased()->encode(TextInput::single("hello world hello world"), o);
    FAIL("no error");
  } catch (const graft::core::TruncationError& e) {
    CHECK(e.kind() == "StrideTooLarge");
    CHECK(std::string(e.what()).find("stride (2)") != std::string::npos);
  }
  EncodeOptions q;
  q.max_length = 5;
  q.truncation = graft::Truncation::only_second;
  try {
    uncased()->encode(TextInput::with_pair("hello world hello", "world"), q);
    FAIL("no error");
  } catch (const graft::core::TruncationError& e) {
    CHECK(e.kind() == "SequenceTooShort");
  }
  try {
    uncased()->encode(TextInput::single("hello world hello world"), q);
    FAIL("no error");
  } catch (const graft::core::TruncationError& e) {
    CHECK(e.kind() == "SecondSequenceNotProvided");
  }
  EncodeOptions tiny;
  tiny.max_length = 1;
  CHECK_THROWS_AS(uncased()->encode(TextInput::single("hello"), tiny), graft::core::TruncationError);
  // a refusal is a DataError (processors report it with file:line)
  CHECK_THROWS_AS(uncased()->encode(TextInput::single("hello world hello world"), o), graft::DataError);
}

TEST_CASE("overflow windows with stride, right and left") {
  // 10 word tokens: "x x x ..." → ids of x
  std::string text = "x x x x x x x x x x";
  EncodeOptions o;
  o.max_length = 6;  // 4 content tokens per window
  o.stride = 1;
  o.return_overflowing = true;
  auto right = uncased()->encode(TextInput::single(text), o);
  // starts 0, 3, 6 (step 3), the last one reaching the end
  REQUIRE(right.size() == 3);
  std::vector<std::vector<int64_t>> words_r;
  for (const auto& w : right) words_r.push_back(std::vector<int64_t>(w.word_ids.begin() + 1, w.word_ids.end() - 1));
  CHECK(words_r[0] == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(words_r[1] == std::vector<int64_t>{3, 4, 5, 6});
  CHECK(words_r[2] == std::vector<int64_t>{6, 7, 8, 9});
  for (const auto& w : right) {
    CHECK(w.tokens.front() == "[CLS]");
    CHECK(w.tokens.back() == "[SEP]");
  }
  o.direction = graft::Direction::left;
  auto left = uncased()->encode(TextInput::single(text), o);
  REQUIRE(left.size() == 3);
  CHECK(std::vector<int64_t>(left[0].word_ids.begin() + 1, left[0].word_ids.end() - 1) == std::vector<int64_t>{6, 7, 8, 9});
  CHECK(std::vector<int64_t>(left[1].word_ids.begin() + 1, left[1].word_ids.end() - 1) == std::vector<int64_t>{3, 4, 5, 6});
  CHECK(std::vector<int64_t>(left[2].word_ids.begin() + 1, left[2].word_ids.end() - 1) == std::vector<int64_t>{0, 1, 2, 3});
  // without return_overflowing only the first window comes back
  o.return_overflowing = false;
  CHECK(uncased()->encode(TextInput::single(text), o).size() == 1);
  // Truncation::none ignores max_length
  EncodeOptions none;
  none.max_length = 4;
  none.truncation = graft::Truncation::none;
  CHECK(uncased()->encode_one(TextInput::single(text), none).size() == 12);
}

TEST_CASE("longest_first on pairs gives the extra token to the longer sequence (tokenizers 0.22)") {
  EncodeOptions o;
  o.max_length = 3 + 7;  // 7 content tokens, both sequences longer than half
  Encoding e = uncased()->encode_one(TextInput::with_pair("x x x x x x", "x x x x x x x x"), o);
  int64_t a = 0, b = 0;
  for (auto s : e.sequence_ids) (s == 0 ? a : s == 1 ? b : a) += s >= 0;
  CHECK(a == 3);
  CHECK(b == 4);
  CHECK(e.type_ids.back() == 1);
  CHECK(e.type_ids.front() == 0);
}

TEST_CASE("pre-split words: offsets relative to each word, word ids = word index") {
  TextInput in;
  in.words = {"Hello", "New", "York!"};
  Encoding e = uncased()->encode_one(in);
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "hello", "new", "york", "!", "[SEP]"});
  CHECK(e.word_ids == std::vector<int64_t>{-1, 0, 1, 2, 2, -1});
  CHECK(e.offsets[3] == std::pair<int64_t, int64_t>{0, 4});
  CHECK(e.offsets[4] == std::pair<int64_t, int64_t>{4, 5});
}

TEST_CASE("decode: WordPiece merge and cleanup; skip_special_tokens; unknown ids skipped") {
  auto t = uncased();
  Encoding e = t->encode_one(TextInput::single("Hello , world ! don ' t"));
  // tokenizers' WordPiece decoder cleans up per token, so " ' " between tokens stays (as in the fixtures'
  // `text`); transformers' clean_up_tokenization on the whole string removes it.
  CHECK(t->decode(e.ids) == "hello, world! don ' t");
  CHECK(graft::core::clean_up_tokenization(t->decode(e.ids)) == "hello, world! don't");
  CHECK(t->decode(e.ids, false) == "[CLS] hello, world! don ' t [SEP]");
  std::vector<int64_t> ids = e.ids;
  ids.push_back(99999999);
  CHECK(t->decode(ids) == "hello, world! don ' t");
  CHECK(graft::core::clean_up_tokenization("a , b . c ' d ' e do n't I 'm it 's we 've they 're") ==
        "a, b. c'd'e don't I'm it's we've they're");
}

TEST_CASE("literal special tokens in text are matched as added tokens (mask 0, own word)") {
  Encoding e = uncased()->encode_one(TextInput::single("a [MASK] b[SEP]c [mask]"));
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "a", "[MASK]", "b", "[SEP]", "c", "[", "mask", "]", "[SEP]"});
  CHECK(e.special_tokens_mask == std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  CHECK(e.word_ids == std::vector<int64_t>{-1, 0, 1, 2, 3, 4, 5, 6, 7, -1});
  CHECK(e.offsets[2] == std::pair<int64_t, int64_t>{2, 8});
  CHECK(e.offsets[4] == std::pair<int64_t, int64_t>{10, 15});
}

TEST_CASE("tokenizer.json without model type, BertProcessing, lstrip and single_word tokens") {
  auto t = graft::core::load_tokenizer(tiny_dir(tiny_json(
      R"(,{"id":15,"special":false,"content":"new york","single_word":true,"lstrip":false,"rstrip":false,"normalized":true})")));
  Encoding e = t->encode_one(TextInput::single("Unaffable playing."));
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "un", "##aff", "##able", "play", "##ing", ".", "[SEP]"});
  CHECK(e.ids == std::vector<int64_t>{2, 5, 6, 7, 8, 9, 10, 3});
  CHECK(e.offsets[2] == std::pair<int64_t, int64_t>{2, 5});
  // [MASK] has lstrip: the space before it belongs to the token
  Encoding m = t->encode_one(TextInput::single("hello  [MASK]"));
  CHECK(m.tokens == std::vector<std::string>{"[CLS]", "hello", "  [MASK]", "[SEP]"});
  CHECK(m.offsets[2] == std::pair<int64_t, int64_t>{5, 13});
  // a normalized added token matches case-insensitively; single_word refuses matches inside words
  Encoding ny = t->encode_one(TextInput::single("New York"));
  CHECK(ny.tokens == std::vector<std::string>{"[CLS]", "new york", "[SEP]"});
  CHECK(ny.offsets[1] == std::pair<int64_t, int64_t>{0, 8});
  Encoding nyx = t->encode_one(TextInput::single("xnew york"));
  CHECK(nyx.tokens == std::vector<std::string>{"[CLS]", "[UNK]", "york", "[SEP]"});
  // non-special added tokens survive skip_special_tokens
  CHECK(t->decode(ny.ids) == "new york");
  CHECK(t->num_special_tokens(false) == 2);
  CHECK(t->num_special_tokens(true) == 3);
}

TEST_CASE("loading errors name the file and what was expected") {
  auto message = [](auto fn) -> std::string {
    try {
      fn();
    } catch (const graft::FormatError& e) {
      return e.what();
    }
    return "no FormatError";
  };
  std::string empty = graft::test::temp_dir("empty-model");
  std::string m = message([&] { graft::core::load_tokenizer(empty); });
  CHECK(m.find(empty) != std::string::npos);
  CHECK(m.find("tokenizer.json") != std::string::npos);
  CHECK(m.find("vocab.txt") != std::string::npos);
  CHECK(message([&] { graft::core::load_tokenizer(empty + "/nope"); }).find("not a directory") != std::string::npos);

  // Other model types run through the tokenizer.json pipeline (tokenizer_json_test.cpp); their
  // field errors name the field.
  m = message([&] {
    graft::core::load_tokenizer(tiny_dir(R"({"model":{"type":"BPE","vocab":{},"merges":[]}})"));
  });
  CHECK(m.find("field 'model.vocab' is empty") != std::string::npos);
  m = message([&] { graft::core::load_tokenizer(tiny_dir(R"({"model":{"vocab":{"a":0},"merges":["a b"]}})")); });
  CHECK(m.find("model.merges[0]") != std::string::npos);  // inferred BPE: 'b' is not in the vocabulary
  m = message([&] { graft::core::load_tokenizer(tiny_dir(R"({"model":{"vocab":[["a"]]}})")); });
  CHECK(m.find("model.vocab[0]' must be [piece, score]") != std::string::npos);  // inferred Unigram

  std::string dir = tiny_dir("{\"model\": {");
  m = message([&] { graft::core::load_tokenizer(dir); });
  CHECK(m.find(dir + "/tokenizer.json: invalid JSON") != std::string::npos);

  std::string bad_field = tiny_json();
  bad_field.replace(bad_field.find("\"lowercase\":true"), 16, "\"lowercase\":\"yes\"");
  m = message([&] { graft::core::load_tokenizer(tiny_dir(bad_field)); });
  CHECK(m.find("normalizer.lowercase") != std::string::npos);
  CHECK(m.find("must be a boolean") != std::string::npos);

  std::string bad_norm = tiny_json();
  bad_norm.replace(bad_norm.find("BertNormalizer"), 14, "Nmt");
  CHECK(message([&] { graft::core::load_tokenizer(tiny_dir(bad_norm)); }).find("normalizer type 'Nmt'") !=
        std::string::npos);

  std::string vdir = graft::test::temp_dir("bad-vocab");
  write(vdir + "/vocab.txt", "[CLS]\n[SEP]\nhello\n");
  m = message([&] { graft::core::load_tokenizer(vdir); });
  CHECK(m.find("[UNK]") != std::string::npos);
  CHECK(m.find("vocab.txt") != std::string::npos);

  write(vdir + "/vocab.txt", "[UNK]\n[CLS]\n[SEP]\nbad\xff\n");
  m = message([&] { graft::core::load_tokenizer(vdir); });
  CHECK(m.find("vocab.txt:4") != std::string::npos);

  write(vdir + "/vocab.txt", "[UNK]\n[CLS]\n[SEP]\n");
  write(vdir + "/tokenizer_config.json", "{\"do_lower_case\": 1}");
  m = message([&] { graft::core::load_tokenizer(vdir); });
  CHECK(m.find("tokenizer_config.json") != std::string::npos);
  CHECK(m.find("do_lower_case") != std::string::npos);

  graft::core::WordPieceOptions o;
  o.vocab = "missing/vocab.txt";
  m = message([&] { graft::core::make_wordpiece(o, vdir); });
  CHECK(m.find(vdir + "/missing/vocab.txt") != std::string::npos);
}

namespace {
struct CaptureRegistrar : graft::Registrar {
  std::vector<graft::TokenizerEntry> tokenizers;
  void add(graft::LanguageModelEntry) override {}
  void add(graft::HeadEntry) override {}
  void add(graft::ProcessorEntry) override {}
  void add(graft::MetricEntry) override {}
  void add(graft::TokenizerEntry e) override { tokenizers.push_back(std::move(e)); }
};
}  // namespace

TEST_CASE("the registered \"wordpiece\" factory builds from options; relative vocab resolves against model_dir") {
  CaptureRegistrar r;
  graft::core::register_core_tokenizers(r);
  auto wp = std::find_if(r.tokenizers.begin(), r.tokenizers.end(),
                         [](const graft::TokenizerEntry& e) { return e.name == "wordpiece"; });
  REQUIRE(wp != r.tokenizers.end());
  auto opts = wp->make_options();
  auto& o = static_cast<graft::OptionsHolder<graft::core::WordPieceOptions>&>(*opts).value;
  o.vocab = "vocab.txt";
  o.lowercase = false;
  graft::TokenizerContext ctx{graft::test::fixture("tokenizers/models/bert-base-cased")};
  auto tok = wp->make(*opts, ctx);
  CHECK(tokens(*tok, "Hello") == tokens(*cased(), "Hello"));
  CHECK(tok->cls_id() == cased()->cls_id());

  graft::Diagnostics d;
  o.strip_accents = graft::Value("sometimes");
  opts->check(d);
  CHECK(d.count() == 1);
}

TEST_CASE("encode is thread-safe (concurrent calls give the sequential results)") {
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i)
    texts.push_back(graft::cat("Sentence number ", i, " with café, 日本 and [MASK] tokens ", std::string(i % 7, 'x')));
  std::vector<Encoding> expected;
  for (const auto& t : texts) expected.push_back(uncased()->encode_one(TextInput::single(t)));
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep)
        for (size_t i = 0; i < texts.size(); ++i) {
          Encoding e = uncased()->encode_one(TextInput::single(texts[i]));
          if (e.ids != expected[i].ids || e.offsets != expected[i].offsets) ++bad[k];
        }
    });
  for (auto& t : threads) t.join();
  CHECK(bad == std::vector<int>{0, 0, 0, 0});
}
