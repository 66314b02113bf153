// The squad metric of the question_answering plugin against the official scripts' values:
// SQuAD v1.1, FARM's copy of the v2.0 script and KorQuAD v1.0 (repository subsets always, the
// full ../shared files when present).
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/json.h>
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/metric.h>

#include <cmath>

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

std::shared_ptr<graft::Metric> squad(const std::string& flavor = "auto", double thresh = 1.0) {
  const auto& entry = registry().metric("squad").entry;
  auto opts = entry.make_options();
  graft::Diagnostics diag;
  Value o = Value::object();
  o.set("flavor", flavor);
  o.set("na_prob_thresh", thresh);
  graft::core::read_options(*opts, o, diag);
  REQUIRE_MESSAGE(diag.ok(), diag.format());
  return entry.make(*opts, graft::MetricContext{});
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-9 + 1e-9 * std::abs(want); }

void check(const Value& got, const std::string& key, double want, const std::string& what) {
  const Value* v = got.find(key);
  REQUIRE_MESSAGE(v, what, ": no '", key, "' in ", got.dump_json());
  INFO(what, " ", key, " got ", v->as_double(), " want ", want);
  CHECK(close(v->as_double(), want));
}

/// Gold SQuAD JSON + {id: answer} (+ na_probs) → MetricInput (what `graft score squad` builds).
graft::MetricInput input_of(const Value& gold, const Value& preds, const Value* na_probs = nullptr,
                            std::vector<std::string>* ids = nullptr) {
  graft::MetricInput in;
  std::string version = gold.get_string("version", "");
  for (const auto& article : gold.at("data").as_array())
    for (const auto& para : article.at("paragraphs").as_array())
      for (const auto& qa : para.at("qas").as_array()) {
        Value g = Value::object();
        const std::string id = qa.at("id").as_string();
        g.set("id", id);
        Value answers = Value::array();
        for (const auto& a : qa.at("answers").as_array()) answers.push_back(a.at("text"));
        g.set("answers", std::move(answers));
        g.set("version", version);
        in.gold.push_back(std::move(g));
        const Value* p = preds.find(id);
        if (!p) {
          in.pred.emplace_back();
        } else if (na_probs) {
          Value o = Value::object();
          o.set("answer", *p);
          o.set("no_answer_prob", na_probs->at(id));
          in.pred.push_back(std::move(o));
        } else {
          in.pred.push_back(*p);
        }
        if (ids) ids->push_back(id);
      }
  return in;
}

/// Per-question EM/F1 via one-question inputs; returns the sums for the totals check.
void check_per_question(const graft::MetricInput& in, const std::vector<std::string>& ids, const Value& per,
                        const std::string& flavor, const char* em_key, const char* f1_key) {
  auto m = squad(flavor);
  for (size_t i = 0; i < ids.size(); ++i) {
    graft::MetricInput one;
    one.gold = {in.gold[i]};
    Value p = in.pred[i];
    if (p.is_object()) p = p.at("answer");
    one.pred = {p};
    Value got = m->compute(one);
    const Value& want = per.at(ids[i]);
    CAPTURE(ids[i]);
    if (flavor == "v2.0") {
      check(got, "exact", 100.0 * want.at(em_key).as_double(), "per question exact");
      check(got, "f1", 100.0 * want.at(f1_key).as_double(), "per question f1");
    } else {
      check(got, "exact_match", 100.0 * want.at(em_key).as_double(), "per question em");
      check(got, "f1", 100.0 * want.at(f1_key).as_double(), "per question f1");
    }
  }
}

}  // namespace

TEST_CASE("squad v1.1 equals the official script (subset per question, edge cases, full totals)") {
  Value fx = graft::core::read_json_file(graft::test::fixture("metrics/qa_squad_v1_1.json"));
  std::vector<std::string> ids;
  auto in = input_of(fx.at("gold"), fx.at("predictions"), nullptr, &ids);
  check_per_question(in, ids, fx.at("per_question"), "v1.1", "em", "f1");
  // the subset's totals = the mean of its per-question values
  double em = 0, f1 = 0;
  for (const auto& id : ids) {
    em += fx.at("per_question").at(id).at("em").as_double();
    f1 += fx.at("per_question").at(id).at("f1").as_double();
  }
  Value got = squad()->compute(in);
  check(got, "exact_match", 100.0 * em / static_cast<double>(ids.size()), "subset total");
  check(got, "f1", 100.0 * f1 / static_cast<double>(ids.size()), "subset total");
  const Value& edge = fx.at("edge_cases");
  got = squad("v1.1")->compute(input_of(edge.at("gold"), edge.at("predictions")));
  check(got, "exact_match", edge.at("expected").at("total").at("exact_match").as_double(), "edge");
  check(got, "f1", edge.at("expected").at("total").at("f1").as_double(), "edge");
  if (graft::test::have_shared()) {
    Value full = graft::core::read_json_file(graft::test::shared("fixtures/metrics/qa_squad_v1_1.json"));
    const Value& ds = full.at("datasets").at("squad_v1_1");
    std::vector<std::string> all_ids;
    auto all = input_of(ds.at("gold"), ds.at("predictions"), nullptr, &all_ids);
    Value total = squad()->compute(all);
    check(total, "exact_match", ds.at("expected").at("total").at("exact_match").as_double(), "full");
    check(total, "f1", ds.at("expected").at("total").at("f1").as_double(), "full");
    check_per_question(all, all_ids, ds.at("expected").at("per_question"), "v1.1", "em", "f1");
  }
}

TEST_CASE("squad v2.0 equals FARM's copy of the official script (HasAns/NoAns, thresholds, best thresh)") {
  Value fx = graft::core::read_json_file(graft::test::fixture("metrics/qa_squad_v2.json"));
  std::vector<std::string> ids;
  auto in = input_of(fx.at("gold"), fx.at("predictions"), nullptr, &ids);
  CHECK(squad()->compute(in).contains("HasAns_exact"));  // auto → v2.0 from the version field
  check_per_question(in, ids, fx.at("per_question"), "v2.0", "exact", "f1");
  const Value& edge = fx.at("edge_cases");
  std::vector<std::string> eids;
  auto ein = input_of(edge.at("gold"), edge.at("predictions"), nullptr, &eids);
  for (size_t i = 0; i < eids.size(); ++i) {
    graft::MetricInput one;
    one.gold = {ein.gold[i]};
    one.pred = {ein.pred[i]};
    Value got = squad("v2.0")->compute(one);
    CAPTURE(eids[i]);
    check(got, "exact", 100.0 * edge.at("expected").at("exact").at(eids[i]).as_double(), "edge exact");
    check(got, "f1", 100.0 * edge.at("expected").at("f1").at(eids[i]).as_double(), "edge f1");
  }
  if (graft::test::have_shared()) {
    Value full = graft::core::read_json_file(graft::test::shared("fixtures/metrics/qa_squad_v2.json"));
    auto all = input_of(full.at("gold"), full.at("predictions"), &full.at("na_probs"));
    for (const char* which : {"default", "thresh_0_5"}) {
      CAPTURE(which);
      Value got = squad("auto", std::string(which) == "default" ? 1.0 : 0.5)->compute(all);
      for (const auto& [k, v] : full.at("expected").at(which).as_object()) check(got, k, v.as_double(), which);
    }
  }
}

TEST_CASE("squad korquad flavour: character-level F1, KorQuAD normalisation") {
  // hand-made: character bags {1,9,8,9,년,2,월} vs {1,9,8,9,년,2,월,1,5,일} → P 1, R 0.7; quotes/brackets → spaces
  graft::MetricInput in;
  Value g = Value::object();
  g.set("id", "k1");
  g.set("answers", Value(std::vector<std::string>{"1989년 2월 15일"}));
  g.set("version", "KorQuAD_v1.0_dev");
  in.gold = {g};
  in.pred = {Value("1989년 2월")};
  Value got = squad()->compute(in);
  check(got, "exact_match", 0.0, "korquad em");
  check(got, "f1", 100.0 * 2 * 0.7 / 1.7, "korquad char f1");
  in.pred = {Value("《1989년 (2월) 15일》")};
  check(squad()->compute(in), "exact_match", 100.0, "korquad brackets");
  check(squad("v1.1")->compute(in), "exact_match", 0.0, "v1.1 keeps 《");
  if (graft::test::have_shared()) {
    Value fx = graft::core::read_json_file(graft::test::shared("fixtures/metrics/qa_korquad_v1_0.json"));
    std::vector<std::string> ids;
    auto sub = input_of(fx.at("gold"), fx.at("predictions"), nullptr, &ids);
    check_per_question(sub, ids, fx.at("expected").at("per_question"), "korquad", "em", "f1");
    Value full = graft::core::read_json_file(graft::test::shared("fixtures/metrics/qa_korquad_v1_0.json"));
    Value got = squad()->compute(input_of(full.at("gold"), full.at("predictions")));
    check(got, "exact_match", full.at("expected").at("total").at("exact_match").as_double(), "korquad full");
    check(got, "f1", full.at("expected").at("total").at("f1").as_double(), "korquad full");
  }
}

TEST_CASE("squad: bad metric input is a DataError") {
  graft::MetricInput in;
  in.gold.emplace_back(Value(42));
  in.pred.emplace_back(Value("x"));
  CHECK_THROWS_AS(squad()->compute(in), graft::DataError);
  graft::MetricInput empty;
  CHECK_THROWS_AS(squad()->compute(empty), graft::DataError);
}
