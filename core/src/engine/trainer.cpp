// Trainer: the training loop, evaluation schedule, early stopping, progress display.
#include <graft/core/json.h>
#include <graft/core/runtime.h>
#include <graft/core/trainer.h>
#include <graft/error.h>
#include <graft/log.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace graft::core {

// ---------------------------------------------------------------------------------------------
// Early stopping options

EarlyStopping EarlyStopping::from_value(const Value& t) {
  EarlyStopping es;
  if (t.is_null()) return es;
  auto where = [&](const Value& v) {
    std::string l = v.location().str();
    return l.empty() ? std::string() : l + ": ";
  };
  GRAFT_CHECK(t.is_object(), ConfigError, where(t), "training.early_stopping: expected a table {metric = \"task/metric\", ...}, got ",
              t.type_name());
  for (const auto& [k, v] : t.as_object()) {
    std::string key = "training.early_stopping." + k;
    if (k == "metric") {
      GRAFT_CHECK(v.is_string(), ConfigError, where(v), key, ": expected a string \"task/metric\", got ", v.type_name());
      es.metric = v.as_string();
      if (es.metric.rfind("dev/", 0) == 0) es.metric = es.metric.substr(4);
      GRAFT_CHECK(es.metric == "loss" || es.metric.find('/') != std::string::npos, ConfigError, where(v), key,
                  ": expected \"task/metric\" (e.g. \"sentiment/acc\") or \"loss\" (sum of the task losses), got \"",
                  es.metric, "\"");
    } else if (k == "mode") {
      GRAFT_CHECK(v.is_string() && (v.as_string() == "max" || v.as_string() == "min"), ConfigError, where(v), key,
                  ": expected \"max\" or \"min\"");
      es.mode = v.as_string();
    } else if (k == "patience") {
      GRAFT_CHECK(v.is_int() && v.as_int() >= 0, ConfigError, where(v), key, ": expected an integer >= 0");
      es.patience = v.as_int();
    } else if (k == "min_delta") {
      GRAFT_CHECK(v.is_number() && v.as_double() >= 0.0, ConfigError, where(v), key, ": expected a number >= 0");
      es.min_delta = v.as_double();
    } else if (k == "restore_best") {
      GRAFT_CHECK(v.is_bool(), ConfigError, where(v), key, ": expected true or false");
      es.restore_best = v.as_bool();
    } else {
      throw ConfigError(cat(where(v), key, ": unknown key (expected metric, mode, patience, min_delta, restore_best)"));
    }
  }
  GRAFT_CHECK(!es.metric.empty(), ConfigError, where(t), "training.early_stopping: missing key 'metric' (\"task/metric\")");
  return es;
}

Value EarlyStopping::to_value() const {
  Value v = Value::object();
  v.set("metric", metric);
  v.set("mode", mode);
  v.set("patience", patience);
  v.set("min_delta", min_delta);
  v.set("restore_best", restore_best);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Progress display: a redrawn bar on a terminal, plain log lines otherwise.

namespace {

std::string fmt_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  auto t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t / 60 % 60), (long long)(t % 60));
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60), (long long)(t % 60));
  return buf;
}

class Progress {
 public:
  Progress(int64_t total, bool enabled, int64_t log_every)
      : total_(total), tty_(enabled && stderr_is_tty()), log_every_(std::max<int64_t>(1, log_every)),
        start_(std::chrono::steady_clock::now()) {}
  ~Progress() { finish(); }

  void update(const StepRecord& r, int64_t epoch) {
    double el = elapsed();
    double rate = el > 0 ? static_cast<double>(r.step) / el : 0.0;
    double eta = rate > 0 ? static_cast<double>(total_ - r.step) / rate : -1;
    loss_avg_ = r.step == 1 ? r.loss : 0.9 * loss_avg_ + 0.1 * r.loss;
    if (tty_) {
      const int width = 24;
      int filled = total_ > 0 ? static_cast<int>(width * r.step / total_) : 0;
      std::string bar(static_cast<size_t>(filled), '#');
      bar.resize(width, '.');
      char buf[256];
      std::snprintf(buf, sizeof buf, "\r[%s] %lld/%lld epoch %lld loss %.4f lr %.2e %.2f it/s ETA %s   ", bar.c_str(),
                    (long long)r.step, (long long)total_, (long long)epoch, loss_avg_, r.lr, rate, fmt_duration(eta).c_str());
      std::cerr << buf << std::flush;
      drawn_ = true;
    } else if (r.step % log_every_ == 0 || r.step == total_) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "step %lld/%lld epoch %lld loss %.4f lr %.3e grad_norm %.3f %.2f it/s ETA %s",
                    (long long)r.step, (long long)total_, (long long)epoch, loss_avg_, r.lr, r.grad_norm, rate,
                    fmt_duration(eta).c_str());
      log::info(buf);
    }
  }
  /// Ends the current bar line before other output.
  void interrupt() {
    if (drawn_) {
      std::cerr << "\n" << std::flush;
      drawn_ = false;
    }
  }
  void finish() { interrupt(); }
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  int64_t total_;
  bool tty_;
  int64_t log_every_;
  std::chrono::steady_clock::time_point start_;
  double loss_avg_ = 0.0;
  bool drawn_ = false;
};

std::string metrics_line(const Value& m) {
  std::ostringstream os;
  bool first = true;
  for (const auto& [k, v] : m.as_object()) {
    if (!v.is_number()) continue;
    os << (first ? "" : ", ") << k << " " << std::fixed;
    os.precision(4);
    os << v.as_double();
    first = false;
  }
  return os.str();
}

/// The micro-batches of one epoch, as (task index, rows).
std::vector<std::pair<size_t, BatchRows>> epoch_plan(const DataSilo& silo, int64_t batch_size, const std::string& sampling,
                                                     uint64_t seed) {
  const auto& tasks = silo.tasks();
  std::vector<std::vector<BatchRows>> per_task;
  for (size_t t = 0; t < tasks.size(); ++t)
    per_task.push_back(plan_batches(tasks[t].train, batch_size, /*shuffle=*/true, seed * 1000003ULL + t));
  std::vector<std::pair<size_t, BatchRows>> out;
  if (tasks.size() == 1) {
    for (auto& b : per_task[0]) out.emplace_back(0, std::move(b));
    return out;
  }
  if (sampling == "round_robin") {
    for (size_t i = 0;; ++i) {
      bool any = false;
      for (size_t t = 0; t < per_task.size(); ++t)
        if (i < per_task[t].size()) {
          out.emplace_back(t, std::move(per_task[t][i]));
          any = true;
        }
      if (!any) break;
    }
    return out;
  }
  if (sampling == "temperature") {
    // task t drawn with probability ∝ n_t^(1/2) (temperature 2); each task's batches cycle.
    std::vector<double> w;
    size_t total = 0;
    for (auto& p : per_task) {
      w.push_back(std::sqrt(static_cast<double>(p.size())));
      total += p.size();
    }
    std::mt19937_64 rng(seed ^ 0xA5A5A5A5ULL);
    std::discrete_distribution<size_t> pick(w.begin(), w.end());
    std::vector<size_t> pos(per_task.size(), 0);
    for (size_t i = 0; i < total; ++i) {
      size_t t = pick(rng);
      if (per_task[t].empty()) continue;
      out.emplace_back(t, per_task[t][pos[t]++ % per_task[t].size()]);
    }
    return out;
  }
  // proportional: every batch once, in a seeded random task order
  for (size_t t = 0; t < per_task.size(); ++t)
    for (auto& b : per_task[t]) out.emplace_back(t, std::move(b));
  seeded_shuffle(out, seed ^ 0x5DEECE66DULL);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Trainer::Trainer(AdaptiveModel& model, TrainerOptions options) : model_(model), opt_(std::move(options)) {
  check_schedule_type(opt_.schedule.type);
  check_precision(opt_.training.precision, model_.device());
  GRAFT_CHECK(opt_.training.grad_accumulation >= 1, ConfigError, "training.grad_accumulation must be >= 1, got ",
              opt_.training.grad_accumulation);
  GRAFT_CHECK(opt_.training.batch_size >= 1, ConfigError, "training.batch_size must be >= 1, got ", opt_.training.batch_size);
  optimizer_ = make_optimizer(decay_groups(model_), opt_.optimizer);
}

Trainer::~Trainer() = default;

void Trainer::set_total_steps(int64_t total) {
  total_steps_ = total;
  warmup_ = warmup_steps(opt_.schedule.warmup, total);
}

StepRecord Trainer::train_step(const std::vector<TaskBatch>& micro) {
  GRAFT_CHECK(!micro.empty(), Error, "train_step: no micro-batches");
  StepRecord rec;
  const int64_t index = optimizer_->steps();  // 0-based step index for the schedule
  rec.step = index + 1;
  rec.lr = opt_.optimizer.lr * schedule_factor(opt_.schedule.type, index, warmup_, std::max<int64_t>(total_steps_, 1));
  optimizer_->set_lr(rec.lr);
  model_.train();
  optimizer_->zero_grad();
  const double scale = 1.0 / static_cast<double>(micro.size());
  double loss_sum = 0.0;
  for (const auto& mb : micro) {
    Batch batch = mb.batch.to(model_.device());
    torch::Tensor loss;
    {
      AutocastGuard ac(opt_.training.precision, model_.device());
      auto out = model_.forward(batch, {mb.task});
      loss = model_.loss(out, batch);
    }
    GRAFT_CHECK(std::isfinite(loss.item<double>()), Error, "training diverged: loss is ", loss.item<double>(), " at step ",
                rec.step, " (task '", mb.task, "'); lower optimizer.lr or use precision = \"fp32\"");
    loss_sum += loss.item<double>();
    (micro.size() == 1 ? loss : loss * scale).backward();
  }
  rec.loss = loss_sum * scale;
  rec.grad_norm = clip_grad_norm(optimizer_->parameters(), opt_.training.max_grad_norm);
  optimizer_->step();
  optimizer_->zero_grad();
  if (on_step) on_step(rec);
  return rec;
}

TrainResult Trainer::fit(DataSilo& silo, const std::map<std::string, std::vector<NamedMetric>>& metrics) {
  TrainResult result;
  const auto& tr = opt_.training;
  GRAFT_CHECK(tr.epochs >= 1 || tr.max_steps > 0, ConfigError, "training.epochs must be >= 1 (or set training.max_steps)");
  for (const auto& t : silo.tasks())
    GRAFT_CHECK(model_.has_task(t.name), ConfigError, "the data has task '", t.name, "' but the model has no head for it");

  torch::manual_seed(static_cast<uint64_t>(opt_.seed));
  // size of an epoch (micro-batches) → optimizer steps
  int64_t micro_per_epoch = 0;
  for (const auto& t : silo.tasks())
    micro_per_epoch += (static_cast<int64_t>(t.train.size() == 0 ? 0 : [&] {
                          int64_t n = 0;
                          for (const auto& b : t.train) n += static_cast<int64_t>(b.samples.size());
                          return n;
                        }()) + tr.batch_size - 1) / tr.batch_size;
  GRAFT_CHECK(micro_per_epoch > 0, DataError, "no training batches: every task's training set is empty");
  const int64_t steps_per_epoch = (micro_per_epoch + tr.grad_accumulation - 1) / tr.grad_accumulation;
  int64_t epochs = std::max<int64_t>(tr.epochs, 1);
  int64_t total = steps_per_epoch * epochs;
  if (tr.max_steps > 0) {
    if (tr.epochs < 1 || tr.max_steps > total) epochs = (tr.max_steps + steps_per_epoch - 1) / steps_per_epoch;
    total = tr.max_steps;
  }
  set_total_steps(total);
  log::info("training: ", total, " optimizer steps (", steps_per_epoch, " per epoch, ", epochs, " epoch",
            epochs == 1 ? "" : "s", ", batch ", tr.batch_size, " x ", tr.grad_accumulation, " accumulation), optimizer ",
            opt_.optimizer.type, " lr ", opt_.optimizer.lr, ", schedule ", opt_.schedule.type, " warmup ", warmup_,
            " steps, precision ", tr.precision);

  Evaluator evaluator(model_, silo.tokenizer(),
                      PredictOptions{tr.eval_batch_size > 0 ? tr.eval_batch_size : tr.batch_size, tr.precision, false});
  for (const auto& [task, ms] : metrics) evaluator.set_metrics(task, ms);

  bool have_dev = false;
  for (const auto& t : silo.tasks()) have_dev = have_dev || !t.dev.empty();
  const EarlyStopping& es = opt_.early_stopping;
  if (es.enabled() && !have_dev)
    log::warn("early stopping on '", es.metric, "' is off: no dev data (set the processor's dev file or dev_split)");
  const bool maximize = es.mode != "min";
  bool have_best = false;
  int64_t bad_evals = 0;
  std::map<std::string, torch::Tensor> best_state;

  auto t0 = std::chrono::steady_clock::now();
  Progress progress(total, tr.progress, tr.log_every);

  auto evaluate_dev = [&](int64_t step, int64_t epoch) -> bool {  // returns true to stop
    if (!have_dev) return false;
    progress.interrupt();
    EvalRecord er;
    er.step = step;
    er.epoch = epoch;
    for (const auto& t : silo.tasks()) {
      if (t.dev.empty()) continue;
      auto ev = evaluator.evaluate(t.name, *t.processor, t.dev);
      merge_metrics(er.metrics, ev.metrics);
    }
    log::info("dev @ step ", step, ": ", metrics_line(er.metrics));
    result.evaluations.push_back(er);
    result.dev_metrics = er.metrics;
    if (!es.enabled()) return false;
    if (es.metric == "loss") {
      double total = 0.0;
      for (const auto& [k, x] : er.metrics.as_object())
        if (k.size() > 5 && k.compare(k.size() - 5, 5, "/loss") == 0) total += x.as_double();
      er.metrics.set("loss", total);
      result.evaluations.back().metrics = er.metrics;
      result.dev_metrics = er.metrics;
    }
    const Value* v = er.metrics.find(es.metric);
    if (v == nullptr) {
      std::string known;
      for (const auto& [k, _] : er.metrics.as_object()) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError(cat("training.early_stopping.metric: '", es.metric, "' is not among the dev metrics (", known, ")"));
    }
    double x = v->as_double();
    bool better = !have_best || (maximize ? x > result.best_value + es.min_delta : x < result.best_value - es.min_delta);
    if (better) {
      have_best = true;
      result.best_value = x;
      result.best_step = step;
      bad_evals = 0;
      if (es.restore_best) best_state = model_.snapshot();
      return false;
    }
    ++bad_evals;
    log::info("early stopping: ", es.metric, " ", x, " is no improvement on ", result.best_value, " (step ",
              result.best_step, "), ", bad_evals, "/", es.patience);
    return bad_evals >= es.patience;
  };

  int64_t step = 0;
  bool stop = false;
  for (int64_t epoch = 1; epoch <= epochs && !stop; ++epoch) {
    auto plan = epoch_plan(silo, tr.batch_size, tr.sampling, static_cast<uint64_t>(opt_.seed) + static_cast<uint64_t>(epoch));
    std::vector<TaskBatch> micro;
    for (size_t i = 0; i < plan.size() && !stop; ++i) {
      const auto& td = silo.tasks()[plan[i].first];
      micro.push_back(TaskBatch{td.name, collate_rows(plan[i].second, *td.processor, silo.tokenizer())});
      bool last = i + 1 == plan.size();
      if (static_cast<int64_t>(micro.size()) < tr.grad_accumulation && !last) continue;
      StepRecord rec = train_step(micro);
      micro.clear();
      step = rec.step;
      result.steps.push_back(rec);
      progress.update(rec, epoch);
      if (tr.evaluate_every > 0 && step % tr.evaluate_every == 0 && step < total) stop = evaluate_dev(step, epoch);
      if (step >= total) break;
    }
    // per-epoch evaluation (unless this step was just evaluated)
    if (!stop && (result.evaluations.empty() || result.evaluations.back().step != step)) stop = evaluate_dev(step, epoch);
    if (step >= total) break;
  }
  progress.finish();
  if (stop) {
    result.stopped_early = true;
    log::info("early stopping at step ", step, ": best ", es.metric, " = ", result.best_value, " at step ", result.best_step);
  }
  if (es.enabled() && es.restore_best && have_best && result.best_step != step) {
    model_.restore(best_state);
    for (const auto& e : result.evaluations)
      if (e.step == result.best_step) result.dev_metrics = e.metrics;
    log::info("restored the weights of step ", result.best_step, " (", es.metric, " = ", result.best_value, ")");
  }

  for (const auto& t : silo.tasks()) {
    if (t.test.empty()) continue;
    auto ev = evaluator.evaluate(t.name, *t.processor, t.test, /*with_report=*/true);
    merge_metrics(result.test_metrics, ev.metrics);
    result.test_reports[t.name] = ev.report;
  }
  if (result.test_metrics.size() > 0) log::info("test: ", metrics_line(result.test_metrics));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Whole runs

TrainerOptions trainer_options(const Recipe& recipe) {
  TrainerOptions o;
  o.training = recipe.training;
  o.optimizer = recipe.optimizer;
  o.schedule = recipe.schedule;
  o.early_stopping = EarlyStopping::from_value(recipe.training.early_stopping);
  o.seed = recipe.run.seed;
  return o;
}

std::string output_dir(const Recipe& recipe) {
  std::string out = recipe.run.output_dir;
  for (size_t pos; (pos = out.find("{name}")) != std::string::npos;) out.replace(pos, 6, recipe.run.name);
  GRAFT_CHECK(!out.empty(), ConfigError, recipe.path, ": run.output_dir is empty");
  return out;
}

Value training_summary(const TrainResult& r) {
  Value v = Value::object();
  v.set("dev", r.dev_metrics);
  v.set("test", r.test_metrics);
  v.set("best_step", r.best_step);
  v.set("stopped_early", r.stopped_early);
  v.set("seconds", r.seconds);
  v.set("steps", static_cast<int64_t>(r.steps.size()));
  Value evals = Value::array();
  for (const auto& e : r.evaluations) {
    Value ev = Value::object();
    ev.set("step", e.step);
    ev.set("epoch", e.epoch);
    ev.set("metrics", e.metrics);
    evals.push_back(ev);
  }
  v.set("evaluations", evals);
  Value losses = Value::array();
  for (const auto& s : r.steps) {
    Value sv = Value::object();
    sv.set("step", s.step);
    sv.set("lr", s.lr);
    sv.set("loss", s.loss);
    sv.set("grad_norm", s.grad_norm);
    losses.push_back(sv);
  }
  v.set("history", losses);
  return v;
}

TrainingRun train_recipe(const Recipe& recipe, Registry& registry, const torch::Device& device, bool save) {
  TrainingRun run;
  TrainerOptions topts = trainer_options(recipe);
  check_precision(topts.training.precision, device);
  SiloOptions so;
  so.base_dir = recipe.base_dir;
  so.seed = recipe.run.seed;
  run.build = build_from_recipe(recipe, registry, so);
  auto& bundle = run.build.bundle;
  bundle.model->to_device(device);
  std::map<std::string, std::vector<NamedMetric>> metrics;
  for (const auto& t : bundle.tasks) metrics[t.name] = make_metrics(t.metrics, registry);
  Trainer trainer(*bundle.model, topts);
  run.result = trainer.fit(*run.build.silo, metrics);
  if (save) {
    run.output_dir = output_dir(recipe);
    save_model_dir(bundle, run.output_dir, resolved_recipe(recipe, registry));
    write_json_file(run.output_dir + "/metrics.json", training_summary(run.result));
  }
  return run;
}

}  // namespace graft::core
