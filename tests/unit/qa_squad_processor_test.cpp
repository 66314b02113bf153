// squad processor and question_answering head of the question_answering plugin (real .so, real
// bert-base-uncased WordPiece vocabulary) on FARM's test/samples/qa files: bad samples reported
// and counted as FARM drops them, windows over long contexts, answers mapped to tokens and back.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>

#include <fstream>

using graft::Value;

namespace {

graft::core::Registry& registry() {
  static graft::core::Registry* reg = [] {
    auto* r = new graft::core::Registry();
    r->load_plugin(graft::test::plugin_dir() + "/libgraft_question_answering.so");
    return r;
  }();
  return *reg;
}

const graft::Tokenizer& tokenizer() {
  static auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/bert-base-uncased"));
  return *tok;
}

std::shared_ptr<graft::Processor> squad(Value options = Value::object()) {
  const auto& entry = registry().processor("squad").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, options, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  auto p = entry.make(*opts, graft::ProcessorContext{""});
  p->set_task("qa");
  return p;
}

std::shared_ptr<graft::PredictionHead> qa_head(Value options = Value::object()) {
  const auto& entry = registry().head("question_answering").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  graft::core::read_options(*opts, options, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  graft::HeadContext hc;
  hc.task = "qa";
  hc.hidden_size = 8;
  return entry.make(*opts, hc);
}

Value obj(std::initializer_list<std::pair<const char*, Value>> kv) {
  Value o = Value::object();
  for (const auto& [k, v] : kv) o.set(k, v);
  return o;
}

std::string sample(const std::string& name) {
  std::string local = graft::test::fixture("qa/farm-samples/" + name);
  return local;
}

/// Logits that put all mass on tokens [a, b] of encoding e (or on [CLS] when a < 0).
torch::Tensor span_logits(const graft::Encoding& e, int64_t a, int64_t b) {
  auto l = torch::zeros({static_cast<int64_t>(e.size()), 2});
  l.select(1, 0)[a < 0 ? 0 : a] = 10.0;
  l.select(1, 1)[b < 0 ? 0 : b] = 10.0;
  return l;
}

}  // namespace

TEST_CASE("squad reads FARM's QA samples; bad samples are reported with record id and line, and counted") {
  auto p = squad(obj({{"max_seq_len", 64}, {"doc_stride", 16}, {"max_query_length", 16}}));
  struct Case {
    const char* file;
    size_t good, bad;
    const char* message;
  };
  for (const Case& c : {Case{"vanilla.json", 1, 0, ""}, Case{"noanswer.json", 1, 0, ""},
                        Case{"answer-wrong.json", 0, 1, "answer '11' is not contained in the context"},
                        Case{"answer-offset-wrong.json", 0, 1, "answer '10' is not at answer_start 0 (the context has 'Be' there)"},
                        Case{"train-sample.json", 1, 0, ""}, Case{"dev-sample.json", 1, 0, ""},
                        Case{"eval-sample.json", 3, 0, ""}}) {
    CAPTURE(c.file);
    std::vector<graft::RecordProblem> problems;
    auto baskets = p->read(sample(c.file), problems);
    CHECK(baskets.size() == c.good);
    REQUIRE(problems.size() == c.bad);
    if (c.bad) {
      CHECK(problems[0].message.find("5ad3d560604f3c001a3ff2c8") != std::string::npos);
      CHECK(problems[0].message.find(c.message) != std::string::npos);
      CHECK(problems[0].loc.line == 11);
      CHECK(problems[0].loc.file == sample(c.file));
    }
  }
  std::vector<graft::RecordProblem> problems;
  auto nb = p->read(sample("noanswer.json"), problems);
  CHECK(nb[0].raw.at("is_impossible").as_bool());
  CHECK(p->label_of(nb[0]) == "no_answer");
}

TEST_CASE("squad: empty context, offset beyond the context, bad JSON") {
  auto p = squad(obj({{"max_seq_len", 64}, {"doc_stride", 16}, {"max_query_length", 16}}));
  std::string path = graft::test::temp_dir("qa") + "/bad.json";
  std::ofstream(path) << R"({"version": "1.1", "data": [{"title": "t", "paragraphs": [
  {"context": "   ", "qas": [{"id": "q1", "question": "Who?", "answers": [{"text": "x", "answer_start": 0}]}]},
  {"context": "Short text.", "qas": [{"id": "q2", "question": "What?", "answers": [{"text": "text.", "answer_start": 40}]},
                                   {"id": "q3", "question": "Which?", "answers": [{"text": "text", "answer_start": 6}]}]}]}]})";
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->read(path, problems);
  REQUIRE(baskets.size() == 1);
  CHECK(baskets[0].id == "q3");
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].message.find("question 'q1': empty context") != std::string::npos);
  CHECK(problems[0].loc.line == 2);
  CHECK(problems[1].message.find("beyond the context (11 characters)") != std::string::npos);
  CHECK(problems[1].loc.line == 3);

  std::string broken = graft::test::temp_dir("qa") + "/broken.json";
  std::ofstream(broken) << "{\"data\": [\n{\"paragraphs\": ]}";
  CHECK_THROWS_WITH_AS(p->read(broken, problems), doctest::Contains("broken.json:2"), graft::DataError);
  CHECK_THROWS_AS(p->read("/no/such.json", problems), graft::DataError);
  // inference dicts
  auto bad = p->from_dicts({obj({{"question", "Who?"}, {"context", ""}})}, problems);
  CHECK(bad.empty());
  CHECK(problems.back().message.find("empty context") != std::string::npos);
}

TEST_CASE("squad featurize: question first, context windows with stride, answer tokens map back to the answer") {
  auto p = squad(obj({{"max_seq_len", 40}, {"doc_stride", 8}, {"max_query_length", 12}}));
  std::vector<graft::RecordProblem> problems;
  auto baskets = p->read(sample("train-sample.json"), problems);
  REQUIRE(baskets.size() == 1);
  graft::Basket& b = baskets[0];
  p->featurize(b, tokenizer());
  REQUIRE(b.problem.empty());
  CHECK(b.samples.size() > 3);
  const std::string& context = b.raw.at("context").as_string();
  int answered = 0;
  for (const auto& s : b.samples) {
    const auto& e = s.encoding;
    CHECK(e.size() <= 40);
    CHECK(e.sequence_ids[1] == 0);  // question first
    int64_t sp = s.features.at("qa/start_positions").item<int64_t>();
    int64_t ep = s.features.at("qa/end_positions").item<int64_t>();
    if (sp == 0) {
      CHECK(ep == 0);
      continue;
    }
    ++answered;
    CHECK(e.sequence_ids[static_cast<size_t>(sp)] == 1);
    auto text = context.substr(static_cast<size_t>(e.offsets[static_cast<size_t>(sp)].first),
                               static_cast<size_t>(e.offsets[static_cast<size_t>(ep)].second -
                                                   e.offsets[static_cast<size_t>(sp)].first));
    CHECK(text == "France");
  }
  CHECK(answered >= 1);
  // collate
  std::vector<const graft::Sample*> rows;
  for (const auto& s : b.samples) rows.push_back(&s);
  auto batch = p->collate(rows, tokenizer());
  CHECK(batch.at("qa/start_positions").size(0) == static_cast<int64_t>(rows.size()));

  // the head finds the answer across windows and returns character offsets into the context
  auto head = qa_head(obj({{"context_window_size", 20}}));
  std::vector<torch::Tensor> logits;
  for (const auto& s : b.samples) {
    int64_t sp = s.features.at("qa/start_positions").item<int64_t>();
    int64_t ep = s.features.at("qa/end_positions").item<int64_t>();
    logits.push_back(sp > 0 ? span_logits(s.encoding, sp, ep) : span_logits(s.encoding, -1, -1) * 0.1);
  }
  Value out = head->format(b, logits);
  REQUIRE(out.at("answers").size() >= 1);
  const Value& a = out.at("answers").as_array()[0];
  CHECK(a.at("answer").as_string() == "France");
  CHECK(a.at("start").as_int() == 159);
  CHECK(a.at("end").as_int() == 165);
  CHECK(a.at("context").as_string().find("France") != std::string::npos);
  CHECK(a.at("context").as_string().size() == 20);
  CHECK(!out.at("no_answer").as_bool());
  CHECK(head->prediction_for_metric(out).at("answer").as_string() == "France");
  Value gold = head->gold_for_metric(b);
  CHECK(gold.at("answers").as_array()[0].as_string() == "France");
  CHECK(head->hf_export().architecture_suffix == "ForQuestionAnswering");
}

TEST_CASE("question_answering head: no-answer, max answer length, n-best, loss") {
  auto p = squad(obj({{"max_seq_len", 64}, {"doc_stride", 16}, {"max_query_length", 16}}));
  std::vector<graft::RecordProblem> problems;
  auto b = p->from_dicts({obj({{"question", "How many people live in Paris?"}, {"context", "Berlin has 10 inhabitants."}})},
                         problems);
  REQUIRE(b.size() == 1);
  p->featurize(b[0], tokenizer());
  REQUIRE(b[0].samples.size() == 1);
  const auto& e = b[0].samples[0].encoding;
  CHECK(!b[0].samples[0].features.count("qa/start_positions"));  // unlabelled at inference
  // CLS wins → no answer
  Value out = qa_head()->format(b[0], {span_logits(e, -1, -1)});
  CHECK(out.at("no_answer").as_bool());
  CHECK(out.at("answers").as_array()[0].at("answer").as_string() == "");
  // ... unless no-answer is disabled
  Value out2 = qa_head(obj({{"allow_no_answer", false}}))->format(b[0], {span_logits(e, -1, -1)});
  CHECK(!out2.at("no_answer").as_bool());
  CHECK(!out2.at("answers").as_array()[0].at("answer").as_string().empty());
  // a span longer than max_answer_length is never returned
  int64_t first = -1, last = -1;
  for (size_t t = 0; t < e.size(); ++t)
    if (e.sequence_ids[t] == 1) {
      if (first < 0) first = static_cast<int64_t>(t);
      last = static_cast<int64_t>(t);
    }
  auto h = qa_head(obj({{"max_answer_length", 2}, {"n_best", 3}, {"allow_no_answer", false}}));
  Value out3 = h->format(b[0], {span_logits(e, first, last)});
  CHECK(out3.at("answers").size() == 3);
  for (const auto& a : out3.at("answers").as_array())
    CHECK(a.at("answer").as_string() != "Berlin has 10 inhabitants.");
  // loss = mean of start and end cross-entropies
  graft::Batch batch;
  batch.tensors["qa/start_positions"] = torch::tensor({1, 0}, torch::kInt64);
  batch.tensors["qa/end_positions"] = torch::tensor({2, 0}, torch::kInt64);
  auto lg = torch::randn({2, 5, 2});
  auto l = qa_head()->loss(lg, batch);
  namespace F = torch::nn::functional;
  auto ref = (F::cross_entropy(lg.select(2, 0), batch.at("qa/start_positions")) +
              F::cross_entropy(lg.select(2, 1), batch.at("qa/end_positions"))) / 2;
  CHECK(l.mean().item<double>() == doctest::Approx(ref.item<double>()).epsilon(1e-6));
}
