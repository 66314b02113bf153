// conll processor and token_classification head of the token_classification plugin (real .so,
// real bert-base-uncased WordPiece vocabulary): parsing, bad input, first-sub-token labels,
// windows over long sentences, collation and formatting predictions back onto words.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>

#include <fstream>
#include <set>

using graft::Value;

namespace {

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_token_classification.so");
    return r;
  }();
  return *reg;
}

const graft::Tokenizer& tokenizer() {
  static auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/bert-base-uncased"));
  return *tok;
}

std::shared_ptr<graft::Processor> conll(Value options = Value::object()) {
  const auto& entry = registry().processor("conll").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, options, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  auto p = entry.make(*opts, graft::ProcessorContext{""});
  p->set_task("ner");
  return p;
}

Value obj(std::initializer_list<std::pair<const char*, Value>> kv) {
  Value o = Value::object();
  for (const auto& [k, v] : kv) o.set(k, v);
  return o;
}

std::string write(const std::string& name, const std::string& text) {
  std::string path = graft::test::temp_dir("ner") + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::vector<std::string> strings(const Value& v) {
  std::vector<std::string> out;
  for (const auto& x : v.as_array()) out.push_back(x.as_string());
  return out;
}

}  // namespace

TEST_CASE("conll reads CoNLL-2003 (DOCSTART, blank lines, last column) and collects the tags") {
  auto p = conll();
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->read(graft::test::fixture("ner/conll03_train_excerpt.txt"), problems);
  CHECK(problems.empty());
  REQUIRE(baskets.size() == 13);
  CHECK(strings(baskets[0].raw.at("words")) ==
        std::vector<std::string>{"EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."});
  CHECK(strings(baskets[0].raw.at("tags")) ==
        std::vector<std::string>{"B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"});
  CHECK(baskets[0].raw.at("text").as_string() == "EU rejects German call to boycott British lamb .");
  CHECK(baskets[0].loc.line == 3);
  CHECK(baskets[1].loc.line == 13);
  p->prepare(baskets);
  auto labels = p->labels();
  REQUIRE(!labels.empty());
  CHECK(labels.front() == "O");
  CHECK(std::is_sorted(labels.begin() + 1, labels.end()));
}

TEST_CASE("conll reads GermEval 2014 TSV (comments, index column, outer tags)") {
  auto p = conll(obj({{"format", "germeval14"}}));
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->read(graft::test::fixture("ner/germeval14_synthetic.tsv"), problems);
  CHECK(problems.empty());
  REQUIRE(baskets.size() == 2);
  CHECK(strings(baskets[0].raw.at("words")) == std::vector<std::string>{"Anna", "Müller", "wohnt", "in", "Berlin", "."});
  CHECK(strings(baskets[1].raw.at("tags"))[1] == "B-LOCderiv");
}

TEST_CASE("conll: bad lines are reported with file:line and counted; nothing crashes") {
  std::string path = write("bad.txt",
                           "-DOCSTART- -X- O\n\n"
                           "Peter NNP B-PER\nBlackburn I-PER\n\n"     // line 4: 2 columns instead of 3
                           "Paris NNP B-LOC\nis VBZ O\n\n"
                           "Bonn NNP B-CITY\n\n");                    // line 9: tag outside the label list
  auto p = conll(obj({{"labels", Value(std::vector<std::string>{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"})}}));
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->read(path, problems);
  REQUIRE(baskets.size() == 1);
  CHECK(strings(baskets[0].raw.at("words")) == std::vector<std::string>{"Paris", "is"});
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].loc.file == path);
  CHECK(problems[0].loc.line == 4);
  CHECK(problems[0].message.find("found 2 columns, expected 3") != std::string::npos);
  CHECK(problems[1].loc.line == 9);
  CHECK(problems[1].message.find("'B-CITY' is not in the label list") != std::string::npos);

  CHECK_THROWS_AS(p->read(write("empty.txt", "\n\n"), problems), graft::DataError);
  CHECK_THROWS_AS(p->read(write("latin1.txt", "M\xfcller B-PER\n"), problems), graft::DataError);
  CHECK_THROWS_AS(p->read("/no/such/file.txt", problems), graft::DataError);
}

TEST_CASE("conll: IOB1 → IOB2 conversion") {
  auto p = conll(obj({{"convert_iob1", true}}));
  std::vector<graft::RecordProblem> problems;
  auto b = p->read(write("iob1.txt", "U.N. I-ORG\nofficial O\nEkeus I-PER\nheads O\nfor O\nBaghdad I-LOC\nI-LOC2 I-LOC\n\n"),
                   problems);
  REQUIRE(b.size() == 1);
  CHECK(strings(b[0].raw.at("tags")) ==
        std::vector<std::string>{"B-ORG", "O", "B-PER", "O", "O", "B-LOC", "I-LOC"});
}

TEST_CASE("conll featurize: first sub-token labelled, others ignored (or X), long sentences windowed") {
  auto p = conll(obj({{"labels", Value(std::vector<std::string>{"O", "B-PER", "I-PER", "B-LOC"})}}));
  std::vector<graft::RecordProblem> problems;
  Value d = obj({{"words", Value(std::vector<std::string>{"Johanson", "visited", "Reykjavik"})},
                 {"tags", Value(std::vector<std::string>{"B-PER", "O", "B-LOC"})}});
  auto baskets = p->from_dicts({d}, problems);
  REQUIRE(baskets.size() == 1);
  p->featurize(baskets[0], tokenizer());
  REQUIRE(baskets[0].problem.empty());
  REQUIRE(baskets[0].samples.size() == 1);
  const auto& s = baskets[0].samples[0];
  auto labels = s.features.at("ner/label_ids");
  REQUIRE(labels.size(0) == static_cast<int64_t>(s.encoding.size()));
  for (size_t t = 0; t < s.encoding.size(); ++t) {
    int64_t w = s.encoding.word_ids[t];
    int64_t want = -100;
    if (w >= 0 && (t == 0 || s.encoding.word_ids[t - 1] != w)) want = w == 0 ? 1 : w == 1 ? 0 : 3;
    CHECK_MESSAGE(labels[static_cast<int64_t>(t)].item<int64_t>() == want, "token ", t, " ", s.encoding.tokens[t]);
  }
  CHECK(s.encoding.size() > 5);  // sub-words exist, so some labels are ignored

  auto px = conll(obj({{"labels", Value(std::vector<std::string>{"O", "B-PER", "B-LOC"})}, {"subtoken_label", "X"}}));
  CHECK(px->labels().back() == "X");
  auto bx = px->from_dicts({d}, problems);
  px->featurize(bx[0], tokenizer());
  auto lx = bx[0].samples[0].features.at("ner/label_ids");
  CHECK((lx == 3).sum().item<int64_t>() > 0);

  // a long sentence: windows of 16 tokens with stride 4; every word's first piece is labelled in some window
  auto pw = conll(obj({{"max_seq_len", 16}, {"stride", 4}}));
  std::vector<std::string> words, tags;
  for (int i = 0; i < 40; ++i) {
    words.push_back(i % 3 == 0 ? "Johanson" : "and");
    tags.push_back("O");
  }
  auto bw = pw->from_dicts({obj({{"words", Value(words)}, {"tags", Value(tags)}})}, problems);
  pw->prepare(bw);
  pw->featurize(bw[0], tokenizer());
  REQUIRE(bw[0].problem.empty());
  CHECK(bw[0].samples.size() > 2);
  std::set<int64_t> labelled;
  for (const auto& smp : bw[0].samples) {
    CHECK(smp.encoding.size() <= 16);
    auto l = smp.features.at("ner/label_ids");
    for (size_t t = 0; t < smp.encoding.size(); ++t)
      if (l[static_cast<int64_t>(t)].item<int64_t>() != -100) labelled.insert(smp.encoding.word_ids[t]);
  }
  CHECK(labelled.size() == words.size());

  // collate pads labels with -100
  std::vector<const graft::Sample*> rows;
  for (const auto& smp : bw[0].samples) rows.push_back(&smp);
  rows.push_back(&baskets[0].samples[0]);
  auto batch = pw->collate(rows, tokenizer());
  auto lab = batch.at("ner/label_ids");
  CHECK(lab.size(0) == static_cast<int64_t>(rows.size()));
  CHECK(lab.size(1) == batch.at("input_ids").size(1));
  CHECK(lab[static_cast<int64_t>(rows.size()) - 1][15].item<int64_t>() == -100);
}

TEST_CASE("token_classification head formats per-word tags and entity spans with character offsets") {
  auto p = conll(obj({{"labels", Value(std::vector<std::string>{"O", "B-PER", "I-PER", "B-LOC"})}}));
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->from_dicts({obj({{"text", "  Zoë  Johanson visited Reykjavik"}})}, problems);
  REQUIRE(baskets.size() == 1);
  p->featurize(baskets[0], tokenizer());
  REQUIRE(baskets[0].problem.empty());
  const auto& entry = registry().head("token_classification").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, Value::object(), diag);
  graft::HeadContext hc;
  hc.task = "ner";
  hc.hidden_size = 8;
  hc.labels = p->labels();
  auto head = entry.make(*opts, hc);
  CHECK(head->labels() == hc.labels);
  CHECK(head->hf_export().architecture_suffix == "ForTokenClassification");
  // logits: word 0 → B-PER, word 1 → I-PER, word 2 → O, word 3 → B-LOC (on every piece)
  const auto& e = baskets[0].samples[0].encoding;
  auto logits = torch::zeros({static_cast<int64_t>(e.size()) + 2, 4});
  const int64_t want[] = {1, 2, 0, 3};
  for (size_t t = 0; t < e.size(); ++t)
    if (e.word_ids[t] >= 0) logits[static_cast<int64_t>(t)][want[e.word_ids[t]]] = 5.0;
  Value out = head->format(baskets[0], {logits});
  CHECK(strings(out.at("tags")) == std::vector<std::string>{"B-PER", "I-PER", "O", "B-LOC"});
  const auto& ents = out.at("entities").as_array();
  REQUIRE(ents.size() == 2);
  CHECK(ents[0].at("type").as_string() == "PER");
  CHECK(ents[0].at("text").as_string() == "Zoë  Johanson");
  CHECK(ents[0].at("start").as_int() == 2);
  CHECK(ents[0].at("end").as_int() == 15);
  CHECK(ents[1].at("text").as_string() == "Reykjavik");
  CHECK(ents[1].at("start").as_int() == 24);
  CHECK(ents[0].at("score").as_double() > 0.9);
  CHECK(strings(head->prediction_for_metric(out)) == strings(out.at("tags")));

  // loss: labelled tokens only, HF's mean over the labelled tokens of the batch
  graft::Batch batch;
  batch.tensors["ner/label_ids"] = torch::tensor({{1, -100, 0}, {-100, -100, 3}}, torch::kInt64);
  auto lg = torch::randn({2, 3, 4});
  auto per_row = head->loss(lg, batch);
  auto ref = torch::nn::functional::cross_entropy(lg.reshape({-1, 4}), batch.at("ner/label_ids").reshape({-1}));
  CHECK(per_row.mean().item<double>() == doctest::Approx(ref.item<double>()).epsilon(1e-6));
}
