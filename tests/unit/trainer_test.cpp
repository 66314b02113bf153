// Trainer loop on a tiny in-process model: determinism, accumulation, evaluation, early
// stopping with restore-best, test reports, autocast guard, option errors.
#include "trainer_fakes.h"
#include "test_support.h"

#include <graft/core/adaptive_model.h>
#include <graft/core/trainer.h>
#include <graft/error.h>

#include <ATen/autocast_mode.h>
#include <doctest/doctest.h>

using namespace graft;
using namespace graft::core;
using namespace graft::test;

namespace {

struct Setup {
  std::string dir;
  std::shared_ptr<FakeProcessor> proc;
  std::unique_ptr<DataSilo> silo;
  std::shared_ptr<AdaptiveModel> model;
  std::map<std::string, std::vector<NamedMetric>> metrics;

  explicit Setup(double dropout = 0.1, int n = 120) {
    dir = temp_dir("trainer");
    write_toy_tsv(dir + "/train.tsv", n, 21);
    write_toy_tsv(dir + "/test.tsv", 40, 22);
    proc = std::make_shared<FakeProcessor>();
    proc->data.train = "train.tsv";
    proc->data.test = "test.tsv";
    proc->data.dev_split = 0.25;
    proc->label_list = {"neg", "pos"};
    silo = std::make_unique<DataSilo>(std::vector<std::pair<std::string, std::shared_ptr<Processor>>>{{"sent", proc}},
                                      std::make_shared<FakeTokenizer>(), SiloOptions{dir, 3, 2, true});
    torch::manual_seed(5);
    auto lm = std::make_shared<FakeLM>(8, dropout);
    auto head = std::make_shared<FakeHead>("sent", proc->label_list, 8);
    model = std::make_shared<AdaptiveModel>(lm, std::vector<TaskHead>{{"sent", head, 1.0}});
    metrics["sent"].push_back(NamedMetric{"acc", std::make_shared<FakeAccuracy>()});
  }
};

TrainerOptions options(int64_t epochs = 2) {
  TrainerOptions o;
  o.training.epochs = epochs;
  o.training.batch_size = 8;
  o.training.progress = false;
  o.optimizer.type = "adamw";
  o.optimizer.lr = 0.05;
  o.schedule.type = "linear";
  o.schedule.warmup = 0.1;
  o.seed = 13;
  return o;
}

std::vector<double> losses(const TrainResult& r) {
  std::vector<double> v;
  for (const auto& s : r.steps) v.push_back(s.loss);
  return v;
}

}  // namespace

TEST_CASE("same recipe + seed = same losses (with dropout); another seed differs") {
  auto run = [](int64_t seed) {
    Setup s;
    auto o = options();
    o.seed = seed;
    Trainer t(*s.model, o);
    return losses(t.fit(*s.silo, s.metrics));
  };
  auto a = run(13), b = run(13), c = run(14);
  REQUIRE(a.size() == 24);  // 90 train rows / 8 = 12 batches x 2 epochs
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("training learns the toy task; dev per epoch, test with report") {
  Setup s(0.0);
  auto o = options(4);
  Trainer t(*s.model, o);
  std::vector<int64_t> seen;
  t.on_step = [&](const StepRecord& r) { seen.push_back(r.step); };
  auto r = t.fit(*s.silo, s.metrics);
  CHECK(seen.size() == r.steps.size());
  CHECK(r.steps.front().lr == 0.0);  // linear warmup: the first step runs with lr 0
  CHECK(r.evaluations.size() == 4);  // once per epoch
  CHECK(r.dev_metrics.contains("sent/acc"));
  CHECK(r.dev_metrics.contains("sent/loss"));
  REQUIRE(r.test_metrics.contains("sent/acc"));
  CHECK(r.test_metrics.at("sent/acc").as_double() > 0.8);
  CHECK(r.test_reports.at("sent").find("fake report over 40 rows") != std::string::npos);
  CHECK(r.steps.back().loss < r.steps.front().loss);
}

TEST_CASE("evaluate_every and max_steps") {
  Setup s(0.0);
  auto o = options(10);
  o.training.max_steps = 7;
  o.training.evaluate_every = 3;
  Trainer t(*s.model, o);
  auto r = t.fit(*s.silo, s.metrics);
  CHECK(r.steps.size() == 7);
  std::vector<int64_t> at;
  for (const auto& e : r.evaluations) at.push_back(e.step);
  CHECK(at == std::vector<int64_t>{3, 6, 7});
}

TEST_CASE("gradient accumulation: 2 x 4 rows equals one step over the same 8 rows") {
  Setup s(0.0);
  const auto& train = s.silo->task("sent").train;
  auto plan = plan_batches(train, 4, false, 0);
  auto full = plan_batches(train, 8, false, 0);
  auto snap = s.model->snapshot();
  auto o = options();
  o.training.max_grad_norm = 0.0;
  o.schedule.type = "constant";
  o.schedule.warmup = 0.0;
  Trainer a(*s.model, o);
  a.set_total_steps(1);
  auto ra = a.train_step({TaskBatch{"sent", collate_rows(plan[0], *s.proc, s.silo->tokenizer())},
                          TaskBatch{"sent", collate_rows(plan[1], *s.proc, s.silo->tokenizer())}});
  auto after_a = s.model->snapshot();
  s.model->restore(snap);
  Trainer b(*s.model, o);
  b.set_total_steps(1);
  auto rb = b.train_step({TaskBatch{"sent", collate_rows(full[0], *s.proc, s.silo->tokenizer())}});
  CHECK(ra.loss == doctest::Approx(rb.loss).epsilon(1e-6));
  CHECK(ra.grad_norm == doctest::Approx(rb.grad_norm).epsilon(1e-5));
  auto after_b = s.model->snapshot();
  for (const auto& [k, v] : after_a) CHECK(torch::allclose(v, after_b.at(k), 1e-5, 1e-6));
  CHECK(ra.lr == 0.05);
}

TEST_CASE("early stopping stops after `patience` evaluations without improvement and restores the best") {
  Setup s(0.0);
  auto o = options(30);
  o.training.evaluate_every = 1;
  o.optimizer.lr = 0.5;  // noisy on purpose
  o.early_stopping = EarlyStopping::from_value([] {
    Value v = Value::object();
    v.set("metric", "sent/loss");
    v.set("mode", "min");
    v.set("patience", int64_t{2});
    v.set("min_delta", 0.0);
    return v;
  }());
  Trainer t(*s.model, o);
  auto r = t.fit(*s.silo, s.metrics);
  CHECK(r.stopped_early);
  CHECK(r.steps.size() < 30u * 12u);
  // the last two evaluations were no better than the best
  REQUIRE(r.evaluations.size() >= 3);
  double best = r.best_value;
  for (const auto& e : r.evaluations) CHECK(e.metrics.at("sent/loss").as_double() >= best - 1e-12);
  CHECK(r.dev_metrics.at("sent/loss").as_double() == best);
  // the restored weights really are the best ones: re-evaluating gives the best loss
  Evaluator ev(*s.model, s.silo->tokenizer(), PredictOptions{8, "fp32", false});
  auto again = ev.evaluate("sent", *s.proc, s.silo->task("sent").dev);
  CHECK(again.metrics.at("sent/loss").as_double() == doctest::Approx(best).epsilon(1e-6));
}

TEST_CASE("early stopping options are validated with the field name") {
  auto err = [](Value v) {
    try {
      EarlyStopping::from_value(v);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  Value v = Value::object();
  v.set("metric", "acc");
  CHECK(err(v).find("\"task/metric\"") != std::string::npos);
  v.set("metric", "sent/acc");
  v.set("mode", "maximum");
  CHECK(err(v).find("training.early_stopping.mode") != std::string::npos);
  v.set("mode", "max");
  v.set("patience", "3");
  CHECK(err(v).find("training.early_stopping.patience") != std::string::npos);
  v.set("patience", int64_t{3});
  v.set("patiense", int64_t{3});
  CHECK(err(v).find("unknown key") != std::string::npos);
  CHECK(err(Value::object()).find("missing key 'metric'") != std::string::npos);
  CHECK_FALSE(EarlyStopping::from_value(Value()).enabled());

  Setup s(0.0);
  auto o = options(1);
  Value es = Value::object();
  es.set("metric", "sent/f1");
  o.early_stopping = EarlyStopping::from_value(es);
  Trainer t(*s.model, o);
  CHECK_THROWS_AS(t.fit(*s.silo, s.metrics), ConfigError);  // not among the dev metrics
}

TEST_CASE("bad trainer options") {
  Setup s(0.0);
  auto o = options();
  o.training.precision = "int8";
  CHECK_THROWS_AS(Trainer(*s.model, o), ConfigError);
  o = options();
  o.training.precision = "fp16";  // CPU
  CHECK_THROWS_AS(Trainer(*s.model, o), ConfigError);
  o = options();
  o.schedule.type = "step";
  CHECK_THROWS_AS(Trainer(*s.model, o), ConfigError);
  o = options();
  o.training.grad_accumulation = 0;
  CHECK_THROWS_AS(Trainer(*s.model, o), ConfigError);
}

TEST_CASE("bf16 autocast: on inside the guard, restored after; training runs") {
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastGuard g("bf16", torch::kCPU);
    CHECK(at::autocast::is_cpu_enabled());
    CHECK((at::autocast::get_autocast_cpu_dtype() == at::kBFloat16));
    auto lin = torch::nn::Linear(4, 4);
    CHECK((lin(torch::ones({2, 4})).scalar_type() == at::kBFloat16));
  }
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  { AutocastGuard g("fp32", torch::kCPU); CHECK_FALSE(at::autocast::is_cpu_enabled()); }

  Setup s(0.0);
  auto o = options(2);
  o.training.precision = "bf16";
  Trainer t(*s.model, o);
  auto r = t.fit(*s.silo, s.metrics);
  CHECK(std::isfinite(r.steps.back().loss));
  CHECK(r.test_metrics.at("sent/acc").as_double() > 0.6);
  for (const auto& p : s.model->parameters()) CHECK((p.scalar_type() == torch::kFloat32));  // master weights stay fp32
}

TEST_CASE("loss aggregation: weighted sum of per-task means") {
  Setup s(0.0);
  auto lm = std::make_shared<FakeLM>(8, 0.0);
  auto h1 = std::make_shared<FakeHead>("a", std::vector<std::string>{"neg", "pos"}, 8);
  auto h2 = std::make_shared<FakeHead>("b", std::vector<std::string>{"neg", "pos"}, 8);
  AdaptiveModel m(lm, {{"a", h1, 1.0}, {"b", h2, 0.5}});
  Batch batch;
  batch.tensors["input_ids"] = torch::tensor(std::vector<int64_t>{2, 5, 3, 2, 7, 3}).reshape({2, 3});
  batch.tensors["attention_mask"] = torch::ones({2, 3}, torch::kInt64);
  batch.tensors["a/label_ids"] = torch::tensor(std::vector<int64_t>{0, 1});
  batch.tensors["b/label_ids"] = torch::tensor(std::vector<int64_t>{1, 1});
  auto out = m.forward(batch);
  std::map<std::string, double> per;
  auto total = m.loss(out, batch, &per);
  CHECK(total.item<double>() == doctest::Approx(per.at("a") + 0.5 * per.at("b")));
  // names: LM under its prefix, heads under heads.<task>; export uses HF layout
  auto names = m.named_parameters().keys();
  CHECK(std::find(names.begin(), names.end(), "fake.word_embeddings.weight") != names.end());
  CHECK(std::find(names.begin(), names.end(), "heads.b.classifier.weight") != names.end());
  bool found = false;
  for (const auto& [k, _] : m.export_state()) found = found || k == "heads.a.classifier.bias";
  CHECK(found);
  CHECK_THROWS_AS(AdaptiveModel(lm, {{"a", h1, 1.0}, {"a", h2, 1.0}}), ConfigError);
  CHECK_THROWS_AS(m.head("c"), ConfigError);
}
