// tsv_classification processor of the text_classification plugin, created through the registry
// from the real plugin .so, on small TSV/CSV files written by the tests.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/processor.h>
#include <graft/tokenizer.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

using graft::Value;

namespace {

/// A test-local tokenizer: whitespace split over a small vocabulary, BERT-style specials.
class WhitespaceTokenizer : public graft::Tokenizer {
 public:
  WhitespaceTokenizer() {
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "very", "a", "film"})
      add(t);
  }
  std::vector<graft::Encoding> encode(const graft::TextInput& input, const graft::EncodeOptions& options) const override {
    auto a = split(input.text);
    std::vector<Piece> b;
    bool pair = input.pair.has_value();
    if (pair) b = split(*input.pair);
    int64_t specials = options.add_special_tokens ? num_special_tokens(pair) : 0;
    if (options.max_length > 0) {
      while (static_cast<int64_t>(a.size() + b.size()) + specials > options.max_length) {
        if (a.size() > b.size()) a.pop_back();
        else if (!b.empty()) b.pop_back();
        else a.pop_back();
      }
    }
    graft::Encoding e;
    auto push = [&](int64_t id, const std::string& tok, int64_t type, std::pair<int64_t, int64_t> off, int64_t word,
                    int64_t seq, uint8_t special) {
      e.ids.push_back(id);
      e.tokens.push_back(tok);
      e.type_ids.push_back(type);
      e.offsets.push_back(off);
      e.word_ids.push_back(word);
      e.sequence_ids.push_back(seq);
      e.special_tokens_mask.push_back(special);
    };
    auto add_seq = [&](const std::vector<Piece>& pieces, int64_t type) {
      for (size_t i = 0; i < pieces.size(); ++i)
        push(id_of(pieces[i].text), pieces[i].text, type, {pieces[i].begin, pieces[i].end}, static_cast<int64_t>(i),
             type, 0);
    };
    if (options.add_special_tokens) push(cls_id(), "[CLS]", 0, {0, 0}, -1, -1, 1);
    add_seq(a, 0);
    if (options.add_special_tokens) push(sep_id(), "[SEP]", 0, {0, 0}, -1, -1, 1);
    if (pair) {
      add_seq(b, 1);
      if (options.add_special_tokens) push(sep_id(), "[SEP]", 1, {0, 0}, -1, -1, 1);
    }
    return {e};
  }
  std::string decode(const std::vector<int64_t>& ids, bool) const override {
    std::string out;
    for (auto id : ids) out += (out.empty() ? "" : " ") + id_to_token(id);
    return out;
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(vocab_.size()); }
  int64_t token_to_id(std::string_view t) const override {
    auto it = ids_.find(std::string(t));
    return it == ids_.end() ? -1 : it->second;
  }
  std::string id_to_token(int64_t id) const override { return vocab_.at(static_cast<size_t>(id)); }
  int64_t pad_id() const override { return 0; }
  int64_t unk_id() const override { return 1; }
  int64_t cls_id() const override { return 2; }
  int64_t sep_id() const override { return 3; }
  int64_t mask_id() const override { return 4; }
  int64_t num_special_tokens(bool pair) const override { return pair ? 3 : 2; }
  std::string kind() const override { return "whitespace-test"; }

 private:
  struct Piece {
    std::string text;
    int64_t begin, end;
  };
  void add(const std::string& t) {
    ids_[t] = static_cast<int64_t>(vocab_.size());
    vocab_.push_back(t);
  }
  int64_t id_of(const std::string& t) const {
    auto it = ids_.find(t);
    return it == ids_.end() ? unk_id() : it->second;
  }
  static std::vector<Piece> split(const std::string& s) {
    std::vector<Piece> out;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
      size_t b = i;
      while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
      if (i > b) out.push_back({s.substr(b, i - b), static_cast<int64_t>(b), static_cast<int64_t>(i)});
    }
    return out;
  }
  std::vector<std::string> vocab_;
  std::map<std::string, int64_t> ids_;
};

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_text_classification.so");
    return r;
  }();
  return *reg;
}

std::shared_ptr<graft::Processor> make_processor(const Value& table, const std::string& name = "tsv_classification",
                                                 const std::string& base_dir = "") {
  const auto& entry = registry().processor(name).entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, table, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  auto p = entry.make(*opts, graft::ProcessorContext{base_dir});
  p->set_task("sentiment");
  return p;
}

Value table(std::initializer_list<std::pair<std::string, Value>> items) {
  Value t = Value::object();
  for (const auto& [k, v] : items) t.set(k, v);
  return t;
}

std::string write(const std::string& dir, const std::string& name, const std::string& content) {
  std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string problem_text(const std::vector<graft::RecordProblem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.loc.str() + ": " + p.message + "\n";
  return out;
}

}  // namespace

TEST_CASE("the plugin registers the processor under its name and alias") {
  CHECK(registry().find_processor("tsv_classification") != nullptr);
  CHECK(registry().find_processor("text_classification") != nullptr);
  auto p = make_processor(Value::object(), "text_classification");
  CHECK(p->max_seq_len() == 128);
  CHECK(p->files().on_error == "fail");
}

TEST_CASE("reads a TSV with a header, columns found by name") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string f = write(dir, "train.tsv", "id\tlabel\ttext\n1\tpos\tgood movie\n2\tneg\tbad film\n");
  auto p = make_processor(Value::object());
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->read(f, problems);
  CHECK(problems.empty());
  REQUIRE(baskets.size() == 2);
  CHECK(baskets[0].raw.at("text").as_string() == "good movie");
  CHECK(baskets[0].raw.at("label").as_string() == "pos");
  CHECK(baskets[1].id == f + ":3");
  CHECK(baskets[1].loc.str() == f + ":3");
  CHECK(p->label_of(baskets[1]) == "neg");
}

TEST_CASE("RFC 4180 quoting: delimiters, doubled quotes and newlines inside quotes") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string f = write(dir, "q.tsv",
                        "text\tlabel\n"
                        "\"good\tmovie\"\tpos\n"            // line 2: tab inside quotes
                        "\"say \"\"good\"\" twice\"\tpos\n"  // line 3: doubled quotes
                        "\"very\nbad\nfilm\"\tneg\n"         // lines 4-6: newlines inside quotes
                        "only-one-field\n");               // line 7: too few fields
  auto p = make_processor(Value::object());
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(f, problems);
  REQUIRE(b.size() == 3);
  CHECK(b[0].raw.at("text").as_string() == "good\tmovie");
  CHECK(b[1].raw.at("text").as_string() == "say \"good\" twice");
  CHECK(b[2].raw.at("text").as_string() == "very\nbad\nfilm");
  CHECK(b[2].loc.line == 4);
  REQUIRE(problems.size() == 1);
  CHECK(problem_text(problems) ==
        f + ":7: too few fields: expected 2 as in the header, found 1 (delimiter '\\t' (tab))\n");
}

TEST_CASE("CRLF line ends and a UTF-8 BOM") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string f = write(dir, "crlf.tsv", "\xEF\xBB\xBFtext\tlabel\r\ngood movie\tpos\r\n\r\nbad \xC3\xA9t\xC3\xA9\tneg\r\n");
  auto p = make_processor(Value::object());
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(f, problems);
  CHECK(problems.empty());
  REQUIRE(b.size() == 2);
  CHECK(b[0].raw.at("label").as_string() == "pos");  // no stray \r
  CHECK(b[1].raw.at("text").as_string() == "bad \xC3\xA9t\xC3\xA9");
  CHECK(b[1].loc.line == 4);  // the blank line counts
}

TEST_CASE(".csv files default to a comma; the delimiter option overrides") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string csv = write(dir, "d.csv", "text,label\n\"good, very good\",pos\nbad,neg\n");
  auto p = make_processor(Value::object());
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(csv, problems);
  CHECK(problems.empty());
  REQUIRE(b.size() == 2);
  CHECK(b[0].raw.at("text").as_string() == "good, very good");

  std::string semi = write(dir, "d.txt", "text;label\n'a;b';pos\n");
  auto p2 = make_processor(table({{"delimiter", ";"}, {"quote_char", "'"}}));
  b = p2->read(semi, problems);
  REQUIRE(b.size() == 1);
  CHECK(b[0].raw.at("text").as_string() == "a;b");
}

TEST_CASE("bad rows become problems with file:line and are left out") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string f = write(dir, "bad.tsv",
                        "text\tlabel\n"
                        "good movie\tpos\n"      // 2 ok
                        "\tneg\n"                // 3 empty text
                        "bad film\tmaybe\n"      // 4 unknown label
                        "a\tpos\textra\n"        // 5 too many fields
                        "film\t\n"               // 6 empty label
                        "bad\tneg\n"             // 7 ok
                        "\"never closed\tneg\n"  // 8 unterminated quote ...
                        "good\tpos\n");          // 9 ... swallowed
  auto p = make_processor(table({{"labels", std::vector<std::string>{"neg", "pos"}}}));
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(f, problems);
  REQUIRE(b.size() == 2);
  CHECK(b[0].loc.line == 2);
  CHECK(b[1].loc.line == 7);
  CHECK(problem_text(problems) ==
        f + ":3: empty text in column 'text'\n" +
        f + ":4: unknown label 'maybe' in column 'label'; expected one of 'neg', 'pos'\n" +
        f + ":5: too many fields: expected 2 as in the header, found 3 (delimiter '\\t' (tab))\n" +
        f + ":6: empty label in column 'label'\n" +
        f + ":8: unterminated quote: the quoted field opened on line 8 runs to the end of the file (line 9), "
            "swallowing every line after it\n");
}

TEST_CASE("file-level problems throw DataError naming the file") {
  std::string dir = graft::test::temp_dir("tc-proc");
  auto p = make_processor(Value::object());
  std::vector<graft::RecordProblem> problems;
  CHECK_THROWS_WITH_AS(p->read(dir + "/missing.tsv", problems), (dir + "/missing.tsv: no such file").c_str(),
                       graft::DataError);

  std::string f = write(dir, "cols.tsv", "sentence\tlabel\ngood\tpos\n");
  CHECK_THROWS_WITH_AS(p->read(f, problems),
                       (f + ":1: no column 'text' (option text_column) in the header row; columns found: "
                            "'sentence', 'label'").c_str(),
                       graft::DataError);

  std::string wrong_delim = write(dir, "comma.tsv", "text,label\ngood,pos\n");
  CHECK_THROWS_WITH_AS(p->read(wrong_delim, problems), doctest::Contains("is the delimiter option right?"),
                       graft::DataError);

  std::string latin1 = write(dir, "latin1.tsv", "text\tlabel\ngood\tpos\nd\xE9j\xE0 vu\tneg\n");
  CHECK_THROWS_WITH_AS(p->read(latin1, problems),
                       (latin1 + ":3: invalid UTF-8 (byte 0xE9 at byte column 2); the file must be UTF-8 encoded").c_str(),
                       graft::DataError);

  std::string empty = write(dir, "empty.tsv", "");
  const std::string empty_msg = empty + ": the file is empty";
  CHECK_THROWS_WITH_AS(p->read(empty, problems), doctest::Contains(empty_msg.c_str()), graft::DataError);
  CHECK(problems.empty());
}

TEST_CASE("relative paths resolve against the recipe directory") {
  std::string dir = graft::test::temp_dir("tc-proc");
  write(dir, "rel.tsv", "text\tlabel\ngood\tpos\n");
  auto p = make_processor(Value::object(), "tsv_classification", dir);
  std::vector<graft::RecordProblem> problems;
  auto b = p->read("rel.tsv", problems);
  REQUIRE(b.size() == 1);
  CHECK(b[0].loc.file == dir + "/rel.tsv");
}

TEST_CASE("labels are collected sorted from train; featurize and collate build inputs and label ids") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string f = write(dir, "train.tsv", "text\tlabel\ngood movie\tpos\nbad film\tneg\nvery very good a film\tneu\n");
  auto p = make_processor(table({{"max_seq_len", 5}}));
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(f, problems);
  p->prepare(b);
  CHECK(p->labels() == std::vector<std::string>{"neg", "neu", "pos"});
  WhitespaceTokenizer tok;
  for (auto& basket : b) p->featurize(basket, tok);
  for (auto& basket : b) REQUIRE_MESSAGE(basket.problem.empty(), basket.problem);
  REQUIRE(b[0].samples.size() == 1);
  const auto& s0 = b[0].samples[0];
  CHECK(s0.id == b[0].id + "-0");
  CHECK(s0.features.at("input_ids").size(0) == 4);  // [CLS] good movie [SEP]
  CHECK(s0.features.at("sentiment/label_ids").item<int64_t>() == 2);
  CHECK(s0.features.at("sentiment/label_ids").dim() == 0);
  const auto& s2 = b[2].samples[0];
  CHECK(s2.features.at("input_ids").size(0) == 5);  // truncated to max_seq_len
  CHECK(s2.encoding.tokens == std::vector<std::string>{"[CLS]", "very", "very", "good", "[SEP]"});

  std::vector<const graft::Sample*> samples{&b[0].samples[0], &b[1].samples[0], &b[2].samples[0]};
  graft::Batch batch = p->collate(samples, tok);
  CHECK(batch.at("input_ids").sizes() == torch::IntArrayRef({3, 5}));
  CHECK(batch.at("input_ids")[0][4].item<int64_t>() == tok.pad_id());
  CHECK(batch.at("attention_mask")[0].sum().item<int64_t>() == 4);
  CHECK(torch::equal(batch.at("sentiment/label_ids"), torch::tensor({2, 0, 1}, torch::kInt64)));

  // A dev label the training data never had is a basket problem.
  std::string dev = write(dir, "dev.tsv", "text\tlabel\ngood\tpos\nbad\tangry\n");
  auto d = p->read(dev, problems);
  REQUIRE(problems.size() == 1);
  CHECK(problem_text(problems) == dev + ":3: unknown label 'angry' in column 'label'; expected one of 'neg', 'neu', 'pos'\n");
}

TEST_CASE("text pairs and max_samples") {
  std::string dir = graft::test::temp_dir("tc-proc");
  std::string f = write(dir, "pairs.tsv", "q\tp\ty\ngood\tbad film\t1\nvery good\ta movie\t0\ngood\tgood\t1\n");
  auto p = make_processor(table({{"text_column", "q"}, {"text_pair_column", "p"}, {"label_column", "y"},
                                 {"labels", std::vector<std::string>{"0", "1"}}, {"max_samples", 2}}));
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(f, problems);
  REQUIRE(b.size() == 2);
  CHECK(b[1].raw.at("text_b").as_string() == "a movie");
  WhitespaceTokenizer tok;
  p->featurize(b[0], tok);
  REQUIRE(b[0].problem.empty());
  CHECK(b[0].samples[0].encoding.tokens ==
        std::vector<std::string>{"[CLS]", "good", "[SEP]", "bad", "film", "[SEP]"});
  CHECK(b[0].samples[0].features.at("token_type_ids")[4].item<int64_t>() == 1);
  CHECK(b[0].samples[0].features.at("sentiment/label_ids").item<int64_t>() == 1);
}

TEST_CASE("inference dicts: optional label, problems for bad dicts, no label tensor when unlabelled") {
  auto p = make_processor(table({{"labels", std::vector<std::string>{"neg", "pos"}}}));
  Value ok = table({{"text", "good movie"}});
  Value labelled = table({{"text", "bad film"}, {"label", "neg"}});
  Value no_text = table({{"label", "neg"}});
  Value not_object = Value("good");
  Value bad_label = table({{"text", "bad"}, {"label", "meh"}});
  std::vector<graft::RecordProblem> problems;
  auto b = p->from_dicts({ok, labelled, no_text, not_object, bad_label}, problems);
  REQUIRE(b.size() == 2);
  CHECK(problem_text(problems) ==
        "input[2]: missing \"text\"\n"
        "input[3]: expected an object like {\"text\": \"...\"}, got string\n"
        "input[4]: unknown label 'meh'; expected one of 'neg', 'pos'\n");
  WhitespaceTokenizer tok;
  for (auto& basket : b) p->featurize(basket, tok);
  CHECK(b[0].samples[0].features.count("sentiment/label_ids") == 0);
  CHECK(b[1].samples[0].features.at("sentiment/label_ids").item<int64_t>() == 0);
  graft::Batch batch = p->collate({&b[0].samples[0], &b[1].samples[0]}, tok);
  CHECK_FALSE(batch.has("sentiment/label_ids"));  // not every sample has a label
  graft::Batch labelled_only = p->collate({&b[1].samples[0]}, tok);
  CHECK(labelled_only.has("sentiment/label_ids"));
}

TEST_CASE("option problems are reported by check()") {
  const auto& entry = registry().processor("tsv_classification").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts,
                            table({{"delimiter", "ab"}, {"labels", std::vector<std::string>{"x", "x"}},
                                   {"text_column", "label"}}),
                            diag);
  CHECK_FALSE(diag.ok());
  std::string text = diag.format();
  CHECK(text.find("delimiter: must be a single character, got 'ab'") != std::string::npos);
  CHECK(text.find("label 'x' is listed twice") != std::string::npos);
  CHECK(text.find("'label' is also the text column") != std::string::npos);
  CHECK_THROWS_AS(entry.make(*opts, graft::ProcessorContext{}), graft::ConfigError);
}
