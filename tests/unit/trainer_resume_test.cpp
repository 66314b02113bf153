// Exact resume in process: a run interrupted (as by SIGTERM) after any optimizer step and
// continued from its checkpoint ends with the same weights, losses and evaluations as an
// uninterrupted run — with dropout, accumulation windows that span epochs, evaluation every N
// steps and early stopping with restore-best. The CLI version with SIGKILL is
// tests/integration/resume_test.cpp.
#include "trainer_fakes.h"
#include "test_support.h"

#include <graft/core/adaptive_model.h>
#include <graft/core/checkpoint.h>
#include <graft/core/json.h>
#include <graft/core/trainer.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>

namespace fs = std::filesystem;
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

  explicit Setup(const std::string& data_dir) {
    dir = data_dir;
    proc = std::make_shared<FakeProcessor>();
    proc->data.train = "train.tsv";
    proc->data.test = "test.tsv";
    proc->data.dev_split = 0.25;
    proc->label_list = {"neg", "pos"};
    silo = std::make_unique<DataSilo>(std::vector<std::pair<std::string, std::shared_ptr<Processor>>>{{"sent", proc}},
                                      std::make_shared<FakeTokenizer>(), SiloOptions{dir, 3, 1, true});
    torch::manual_seed(5);
    auto lm = std::make_shared<FakeLM>(8, 0.2);
    auto head = std::make_shared<FakeHead>("sent", proc->label_list, 8);
    model = std::make_shared<AdaptiveModel>(lm, std::vector<TaskHead>{{"sent", head, 1.0}});
    metrics["sent"].push_back(NamedMetric{"acc", std::make_shared<FakeAccuracy>()});
  }
};

std::string data_dir() {
  static std::string d = [] {
    std::string dir = temp_dir("resume-data");
    write_toy_tsv(dir + "/train.tsv", 120, 21);
    write_toy_tsv(dir + "/test.tsv", 40, 22);
    return dir;
  }();
  return d;
}

TrainerOptions options(const std::string& ckpt_dir) {
  TrainerOptions o;
  o.training.epochs = 3;
  o.training.batch_size = 8;  // 90 train rows → 12 micro-batches per epoch
  o.training.grad_accumulation = 5;
  o.training.evaluate_every = 2;
  o.training.progress = false;
  o.optimizer.type = "adamw";
  o.optimizer.lr = 0.05;
  o.schedule.type = "linear";
  o.schedule.warmup = 0.2;
  o.seed = 13;
  Value es = Value::object();
  es.set("metric", "sent/loss");
  es.set("mode", "min");
  es.set("patience", int64_t{100});
  o.early_stopping = EarlyStopping::from_value(es);
  o.checkpoint_dir = ckpt_dir;
  o.checkpoint.keep = 2;
  return o;
}

struct Outcome {
  TrainResult result;
  std::map<std::string, torch::Tensor> weights;
};

/// Runs (or resumes) a training; `stop_at` > 0 interrupts after that step as SIGTERM would.
Outcome train(const std::string& ckpt, const std::string& resume, int64_t stop_at, int64_t every = 0) {
  Setup s(data_dir());
  auto o = options(ckpt);
  o.resume = resume;
  o.checkpoint.every = every;
  Trainer t(*s.model, o);
  if (stop_at > 0)
    t.on_step = [stop_at](const StepRecord& r) {
      if (r.step == stop_at) SignalGuard::raise_for_test(SIGTERM);
    };
  Outcome out;
  out.result = t.fit(*s.silo, s.metrics);
  out.weights = s.model->snapshot();
  return out;
}

void check_same(const Outcome& a, const Outcome& b) {
  REQUIRE(a.weights.size() == b.weights.size());
  for (const auto& [k, v] : a.weights) {
    CAPTURE(k);
    CHECK(torch::equal(v, b.weights.at(k)));
  }
  REQUIRE(a.result.steps.size() == b.result.steps.size());
  for (size_t i = 0; i < a.result.steps.size(); ++i) {
    CHECK(a.result.steps[i].loss == b.result.steps[i].loss);
    CHECK(a.result.steps[i].lr == b.result.steps[i].lr);
  }
  REQUIRE(a.result.evaluations.size() == b.result.evaluations.size());
  for (size_t i = 0; i < a.result.evaluations.size(); ++i) {
    CHECK(a.result.evaluations[i].step == b.result.evaluations[i].step);
    CHECK(a.result.evaluations[i].metrics.dump_json() == b.result.evaluations[i].metrics.dump_json());
  }
  CHECK(a.result.best_step == b.result.best_step);
  CHECK(a.result.best_value == b.result.best_value);
  CHECK(a.result.test_metrics.dump_json() == b.result.test_metrics.dump_json());
}

}  // namespace

TEST_CASE("accumulation windows run over global micro-steps; the last partial window steps") {
  auto full = train("", "", 0);
  // 3 epochs x 12 micro-batches = 36 → ceil(36 / 5) = 8 steps (per-epoch windows would give 9)
  CHECK(full.result.steps.size() == 8);
  CHECK(full.result.steps.back().samples == 2);  // the last window: one micro-batch of 90 - 11 x 8 rows
  CHECK(full.result.steps.front().samples == 40);
  CHECK_FALSE(full.result.interrupted);
}

TEST_CASE("interrupted after any step and resumed: bit-identical to the uninterrupted run") {
  const auto full = train("", "", 0);
  for (int64_t stop_at : {1, 2, 3, 5, 7}) {
    CAPTURE(stop_at);
    std::string ckpt = temp_dir("resume-ckpt");
    auto part = train(ckpt, "", stop_at);
    REQUIRE(part.result.interrupted);
    CHECK(part.result.interrupt_signal == SIGTERM);
    CHECK(part.result.steps.size() == static_cast<size_t>(stop_at));
    CHECK(part.result.checkpoint == ckpt + "/" + checkpoint_name(stop_at));
    CHECK(verify_checkpoint(part.result.checkpoint).empty());
    Value st = read_json_file(part.result.checkpoint + "/trainer_state.json");
    CHECK(st.at("step").as_int() == stop_at);
    CHECK(st.at("accumulation_phase").as_int() == 0);
    CHECK(st.at("micro_step").as_int() == stop_at * 5);
    auto rest = train(ckpt, "latest", 0);
    CHECK(rest.result.resumed_from_step == stop_at);
    check_same(full, rest);
  }
}

TEST_CASE("interrupted twice, periodic checkpoints with keep, resume from a directory") {
  const auto full = train("", "", 0);
  std::string ckpt = temp_dir("resume-twice");
  auto a = train(ckpt, "", 3, /*every=*/1);
  REQUIRE(a.result.interrupted);
  auto names = list_checkpoints(ckpt);
  REQUIRE(names.size() == 2);  // keep = 2
  CHECK(names[0].first == 2);
  CHECK(names[1].first == 3);
  auto b = train(ckpt, names[0].second, 6, 1);  // resume from step 2 explicitly, stop at 6
  REQUIRE(b.result.interrupted);
  CHECK(b.result.resumed_from_step == 2);
  auto c = train(ckpt, "latest", 0, 1);
  CHECK(c.result.resumed_from_step == 6);
  check_same(full, c);
  // the final checkpoint of a finished run: resuming it only re-evaluates
  auto d = train(ckpt, "latest", 0, 1);
  CHECK(d.result.resumed_from_step == 8);
  check_same(full, d);
}

TEST_CASE("a corrupt newest checkpoint is skipped; a changed data set or optimizer is refused") {
  std::string ckpt = temp_dir("resume-corrupt");
  auto a = train(ckpt, "", 4, 2);
  REQUIRE(a.result.interrupted);
  auto all = list_checkpoints(ckpt);
  REQUIRE(all.size() == 2);  // step 2 (every 2) and step 4 (signal)
  // truncate the newest one's optimizer state: latest falls back to step 2
  fs::resize_file(all[1].second + "/optimizer.safetensors", 16);
  CHECK(verify_checkpoint(all[1].second).find("optimizer.safetensors") != std::string::npos);
  CHECK(latest_checkpoint(ckpt) == all[0].second);
  CHECK_THROWS_AS(train(ckpt, all[1].second, 0), ConfigError);  // named explicitly: an error

  Setup s(data_dir());
  auto o = options(ckpt);
  o.resume = all[0].second;
  o.optimizer.type = "sgd";
  Trainer t(*s.model, o);
  CHECK_THROWS_AS(t.fit(*s.silo, s.metrics), ConfigError);

  std::string other = temp_dir("resume-otherdata");
  write_toy_tsv(other + "/train.tsv", 100, 21);
  write_toy_tsv(other + "/test.tsv", 40, 22);
  Setup s2(other);
  auto o2 = options(ckpt);
  o2.resume = all[0].second;
  Trainer t2(*s2.model, o2);
  CHECK_THROWS_AS(t2.fit(*s2.silo, s2.metrics), DataError);

  auto b = train(ckpt, "latest", 0);
  CHECK(b.result.resumed_from_step == 2);
  check_same(train("", "", 0), b);
  CHECK_THROWS_AS(train(temp_dir("resume-empty"), "latest", 0), ConfigError);
}

TEST_CASE("fp16 loss scaler inside the trainer: overflowing steps are skipped, then training proceeds") {
  Setup s(data_dir());
  auto o = options("");
  o.early_stopping = EarlyStopping{};
  o.training.grad_accumulation = 1;
  o.training.epochs = 2;
  o.schedule.type = "constant";
  o.schedule.warmup = 0;
  o.force_loss_scaler = true;  // CPU fp32 + the fp16 scaler logic
  o.loss_scaler.init_scale = std::ldexp(1.0, 131);  // loss * scale overflows float32
  o.loss_scaler.growth_interval = 3;
  Trainer t(*s.model, o);
  auto before = s.model->snapshot();
  std::vector<StepRecord> recs;
  int64_t updates = 0;
  t.on_step = [&](const StepRecord& r) {
    const bool all_skipped = std::all_of(recs.begin(), recs.end(), [](const StepRecord& x) { return x.skipped; });
    recs.push_back(r);
    if (!r.skipped) ++updates;
    CHECK(t.optimizer().steps() == updates);  // a skipped step is not an update
    if (r.skipped && all_skipped)             // nothing has moved yet
      for (const auto& [k, v] : s.model->snapshot()) CHECK(torch::equal(v, before.at(k)));
  };
  auto r = t.fit(*s.silo, s.metrics);
  REQUIRE(recs.size() == 24);
  CHECK(recs[0].skipped);
  CHECK(recs[0].loss_scale == std::ldexp(1.0, 131));
  CHECK(recs[1].loss_scale == std::ldexp(1.0, 130));  // backoff 0.5
  int64_t skipped = 0;
  for (const auto& x : recs) skipped += x.skipped ? 1 : 0;
  CHECK(skipped >= 3);
  CHECK(skipped < 12);
  CHECK(r.skipped_steps == skipped);
  CHECK(t.optimizer().steps() == 24 - skipped);
  // after growth_interval (3) clean steps the scale doubles; here that overflows again, so the
  // pattern is 3 clean steps, 1 skipped at the doubled scale (torch GradScaler behaves the same)
  size_t first_clean = 0;
  while (first_clean < recs.size() && recs[first_clean].skipped) ++first_clean;
  REQUIRE(first_clean == 4);
  for (size_t i = first_clean; i + 3 < recs.size(); i += 4) {
    CHECK_FALSE(recs[i].skipped);
    CHECK_FALSE(recs[i + 1].skipped);
    CHECK_FALSE(recs[i + 2].skipped);
    CHECK(recs[i + 3].skipped);
    CHECK(recs[i + 3].loss_scale == recs[i].loss_scale * 2.0);
  }
  for (const auto& p : s.model->parameters()) CHECK(torch::isfinite(p).all().item<bool>());
}
