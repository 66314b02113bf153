// Trainer: the training loop (global accumulation windows), evaluation schedule, early stopping,
// checkpoints and exact resume, fp16 loss scaling, freezing, progress display.
#include <graft/core/checkpoint.h>
#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/runtime.h>
#include <graft/core/trainer.h>
#include <graft/core/feature_cache.h>
#include <graft/core/tracking.h>
#include <graft/core/weights.h>
#include <graft/error.h>
#include <graft/log.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
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

std::string fmt_rate(double r) {
  char buf[32];
  if (r >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", r / 1000.0);
  else std::snprintf(buf, sizeof buf, "%.1f", r);
  return buf;
}

class Progress {
 public:
  /// `first_step`: the step the run starts from (resumed runs), so rates count this process only.
  Progress(int64_t total, bool enabled, int64_t log_every, int64_t first_step)
      : total_(total), tty_(enabled && stderr_is_tty()), log_every_(log_every), first_step_(first_step),
        start_(std::chrono::steady_clock::now()) {}
  ~Progress() { finish(); }

  void update(const StepRecord& r, int64_t epoch, int64_t epochs) {
    samples_ += r.samples;
    tokens_ += r.tokens;
    const double el = elapsed();
    const double done = static_cast<double>(r.step - first_step_);
    const double steps_per_s = el > 0 ? done / el : 0.0;
    const double eta = steps_per_s > 0 ? static_cast<double>(total_ - r.step) / steps_per_s : -1;
    loss_avg_ = r.step == first_step_ + 1 ? r.loss : 0.9 * loss_avg_ + 0.1 * r.loss;
    const std::string sps = fmt_rate(el > 0 ? static_cast<double>(samples_) / el : 0.0);
    const std::string tps = fmt_rate(el > 0 ? static_cast<double>(tokens_) / el : 0.0);
    if (tty_) {
      const int width = 20;
      int filled = total_ > 0 ? static_cast<int>(width * r.step / total_) : 0;
      std::string bar(static_cast<size_t>(std::clamp(filled, 0, width)), '#');
      bar.resize(width, '.');
      char buf[320];
      std::snprintf(buf, sizeof buf, "\r[%s] epoch %lld/%lld step %lld/%lld loss %.4f lr %.2e %s samples/s %s tok/s ETA %s   ",
                    bar.c_str(), (long long)epoch, (long long)epochs, (long long)r.step, (long long)total_, loss_avg_,
                    r.lr, sps.c_str(), tps.c_str(), fmt_duration(eta).c_str());
      std::cerr << buf << std::flush;
      drawn_ = true;
    } else if (log_every_ > 0 && (r.step % log_every_ == 0 || r.step == total_)) {
      char buf[320];
      std::snprintf(buf, sizeof buf,
                    "epoch %lld/%lld step %lld/%lld loss %.4f lr %.3e grad_norm %.3f %s samples/s %s tok/s ETA %s",
                    (long long)epoch, (long long)epochs, (long long)r.step, (long long)total_, loss_avg_, r.lr,
                    r.grad_norm, sps.c_str(), tps.c_str(), fmt_duration(eta).c_str());
      log::info(buf);
    }
    log::debug("step ", r.step, " loss ", r.loss, " lr ", r.lr, " grad_norm ", r.grad_norm, " samples ", r.samples,
               " tokens ", r.tokens, r.skipped ? " (skipped: inf/nan gradients)" : "");
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
  int64_t first_step_;
  std::chrono::steady_clock::time_point start_;
  double loss_avg_ = 0.0;
  int64_t samples_ = 0, tokens_ = 0;
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

using Plan = std::vector<std::pair<size_t, BatchRows>>;

/// The micro-batches of one epoch, as (task index, rows).
Plan epoch_plan(const DataSilo& silo, int64_t batch_size, const std::string& sampling, uint64_t seed) {
  const auto& tasks = silo.tasks();
  std::vector<std::vector<BatchRows>> per_task;
  for (size_t t = 0; t < tasks.size(); ++t)
    per_task.push_back(plan_batches(tasks[t].train, batch_size, /*shuffle=*/true, seed * 1000003ULL + t));
  Plan out;
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

/// A plan as index rows [R, 4] = (batch, task, basket, sample) for checkpoints.
torch::Tensor plan_to_tensor(const Plan& plan, const DataSilo& silo) {
  std::vector<int64_t> v;
  for (size_t b = 0; b < plan.size(); ++b) {
    const auto& train = silo.tasks()[plan[b].first].train;
    for (const auto& [basket, sample] : plan[b].second) {
      v.push_back(static_cast<int64_t>(b));
      v.push_back(static_cast<int64_t>(plan[b].first));
      v.push_back(static_cast<int64_t>(basket - train.data()));
      v.push_back(static_cast<int64_t>(sample - basket->samples.data()));
    }
  }
  return torch::tensor(v, torch::kInt64).reshape({-1, 4});
}

Plan plan_from_tensor(const torch::Tensor& rows, const DataSilo& silo, const std::string& source) {
  GRAFT_CHECK(rows.dim() == 2 && rows.size(1) == 4 && rows.scalar_type() == torch::kInt64, FormatError, source,
              ": 'rows' must be an int64 [R, 4] tensor");
  auto acc = rows.accessor<int64_t, 2>();
  Plan plan;
  for (int64_t r = 0; r < rows.size(0); ++r) {
    const int64_t b = acc[r][0], t = acc[r][1], k = acc[r][2], s = acc[r][3];
    GRAFT_CHECK(b == static_cast<int64_t>(plan.size()) || b + 1 == static_cast<int64_t>(plan.size()), FormatError,
                source, ": row ", r, " has batch ", b, " out of order");
    GRAFT_CHECK(t >= 0 && t < static_cast<int64_t>(silo.tasks().size()), DataError, source, ": row ", r, " names task #",
                t, " but the recipe has ", silo.tasks().size(), " task(s); the training data differs from the checkpoint's");
    const auto& train = silo.tasks()[static_cast<size_t>(t)].train;
    GRAFT_CHECK(k >= 0 && k < static_cast<int64_t>(train.size()) &&
                    s >= 0 && s < static_cast<int64_t>(train[static_cast<size_t>(k)].samples.size()),
                DataError, source, ": row ", r, " names record ", k, " sample ", s, " of task '",
                silo.tasks()[static_cast<size_t>(t)].name,
                "', which does not exist; the training data differs from the checkpoint's");
    if (b == static_cast<int64_t>(plan.size())) plan.emplace_back(static_cast<size_t>(t), BatchRows{});
    GRAFT_CHECK(plan.back().first == static_cast<size_t>(t), FormatError, source, ": batch ", b, " mixes tasks");
    const Basket* bk = &train[static_cast<size_t>(k)];
    plan.back().second.emplace_back(bk, &bk->samples[static_cast<size_t>(s)]);
  }
  return plan;
}

StateDict to_state_dict(const std::map<std::string, torch::Tensor>& m) {
  StateDict sd;
  for (const auto& [k, v] : m) sd.set(k, v.detach());
  return sd;
}

std::map<std::string, torch::Tensor> from_state_dict(const StateDict& sd) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, v] : sd) m[k] = v.clone();  // off the memory map
  return m;
}

Value step_to_value(const StepRecord& s) {
  Value v = Value::object();
  v.set("step", s.step);
  v.set("lr", s.lr);
  v.set("loss", s.loss);
  v.set("grad_norm", std::isfinite(s.grad_norm) ? Value(s.grad_norm) : Value());
  if (s.samples > 0) v.set("samples", s.samples);
  if (s.tokens > 0) v.set("tokens", s.tokens);
  if (s.skipped) v.set("skipped", true);
  if (s.loss_scale > 0) v.set("loss_scale", s.loss_scale);
  return v;
}

StepRecord step_from_value(const Value& v) {
  StepRecord s;
  s.step = v.get_int("step", 0);
  s.lr = v.get_double("lr", 0.0);
  s.loss = v.get_double("loss", 0.0);
  const Value* g = v.find("grad_norm");
  s.grad_norm = g && g->is_number() ? g->as_double() : std::numeric_limits<double>::infinity();
  s.samples = v.get_int("samples", 0);
  s.tokens = v.get_int("tokens", 0);
  s.skipped = v.get_bool("skipped", false);
  s.loss_scale = v.get_double("loss_scale", 0.0);
  return s;
}

int64_t count_tokens(const Batch& b) {
  auto m = b.tensors.find("attention_mask");
  if (m != b.tensors.end()) return m->second.sum().item<int64_t>();
  auto ids = b.tensors.find("input_ids");
  return ids != b.tensors.end() ? ids->second.numel() : 0;
}

int64_t count_rows(const Batch& b) {
  if (!b.samples.empty()) return static_cast<int64_t>(b.samples.size());
  auto ids = b.tensors.find("input_ids");
  return ids != b.tensors.end() && ids->second.dim() > 0 ? ids->second.size(0) : 0;
}

}  // namespace

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   12345 kB"
  return 0;
}

// ---------------------------------------------------------------------------------------------

Trainer::Trainer(AdaptiveModel& model, TrainerOptions options) : model_(model), opt_(std::move(options)) {
  check_schedule(opt_.schedule, opt_.optimizer.lr);
  check_precision(opt_.training.precision, model_.device());
  GRAFT_CHECK(opt_.training.grad_accumulation >= 1, ConfigError, "training.grad_accumulation must be >= 1, got ",
              opt_.training.grad_accumulation);
  GRAFT_CHECK(opt_.training.batch_size >= 1, ConfigError, "training.batch_size must be >= 1, got ", opt_.training.batch_size);
  apply_static_freezing();
  auto params = decay_groups(model_);
  GRAFT_CHECK(!params.empty(), ConfigError, "nothing to train: every parameter is frozen");
  if (opt_.optimizer.layer_decay != 1.0) apply_layer_decay(params, opt_.optimizer.layer_decay);
  optimizer_ = make_optimizer(std::move(params), opt_.optimizer);
  if (opt_.training.precision == "fp16" || opt_.force_loss_scaler) scaler_ = std::make_unique<LossScaler>(opt_.loss_scaler);
}

Trainer::~Trainer() = default;

void Trainer::apply_static_freezing() {
  const auto& tr = opt_.training;
  if (!tr.freeze_embeddings && tr.freeze_layers <= 0) return;
  int64_t layers = 0;
  for (const auto& p : model_.named_parameters())
    if (auto l = encoder_layer_index(p.key())) layers = std::max(layers, *l + 1);
  GRAFT_CHECK(tr.freeze_layers <= layers, ConfigError, "training.freeze_layers = ", tr.freeze_layers,
              " but the language model has ", layers, " encoder layers");
  int64_t frozen = 0, weights = 0;
  for (auto& p : model_.named_parameters()) {
    const std::string& n = p.key();
    if (n.rfind("heads.", 0) == 0) continue;
    auto l = encoder_layer_index(n);
    bool freeze = (tr.freeze_embeddings && is_embedding_parameter(n)) || (l && *l < tr.freeze_layers);
    if (!freeze) continue;
    p.value().set_requires_grad(false);
    ++frozen;
    weights += p.value().numel();
  }
  GRAFT_CHECK(!tr.freeze_embeddings || frozen > 0, ConfigError,
              "training.freeze_embeddings = true but the language model has no parameter named '*.embeddings.*'");
  log::info("frozen: ", frozen, " parameter tensors (", weights, " weights)",
            tr.freeze_embeddings ? " — the embeddings" : "",
            tr.freeze_layers > 0 ? cat(tr.freeze_embeddings ? " and" : " —", " encoder layers 0..", tr.freeze_layers - 1)
                                 : std::string());
}

void Trainer::set_language_model_trainable(bool trainable) {
  for (const auto& p : optimizer_->parameters())
    if (p.name.rfind("heads.", 0) != 0) p.param.set_requires_grad(trainable);
  lm_frozen_ = !trainable;
}

void Trainer::set_total_steps(int64_t total) {
  total_steps_ = total;
  warmup_ = warmup_steps(opt_.schedule.warmup, total);
}

StepRecord Trainer::train_step(const std::vector<TaskBatch>& micro) {
  GRAFT_CHECK(!micro.empty(), Error, "train_step: no micro-batches");
  StepRecord rec;
  const int64_t index = step_;  // 0-based step index for the schedule
  rec.step = index + 1;
  if (opt_.training.freeze_language_model_steps > 0) {
    const bool frozen = index < opt_.training.freeze_language_model_steps;
    if (frozen != lm_frozen_) {
      set_language_model_trainable(!frozen);
      if (!frozen) log::info("step ", rec.step, ": the language model is unfrozen");
    }
  }
  rec.lr = opt_.optimizer.lr *
           schedule_factor(opt_.schedule, index, warmup_, std::max<int64_t>(total_steps_, 1), opt_.optimizer.lr);
  optimizer_->set_lr(rec.lr);
  model_.train();
  optimizer_->zero_grad();
  const double scale = 1.0 / static_cast<double>(micro.size());
  double loss_sum = 0.0;
  for (const auto& mb : micro) {
    rec.samples += count_rows(mb.batch);
    rec.tokens += count_tokens(mb.batch);
    Batch batch = mb.batch.to(model_.device());
    torch::Tensor loss;
    {
      AutocastGuard ac(opt_.training.precision, model_.device());
      auto out = model_.forward(batch, {mb.task});
      loss = model_.loss(out, batch);
    }
    const double lv = loss.item<double>();
    GRAFT_CHECK(scaler_ || std::isfinite(lv), Error, "training diverged: loss is ", lv, " at step ", rec.step, " (task '",
                mb.task, "'); lower optimizer.lr or use precision = \"fp32\"");
    loss_sum += lv;
    torch::Tensor l = micro.size() == 1 ? loss : loss * scale;
    if (scaler_) l = scaler_->scale(l);
    l.backward();
  }
  rec.loss = loss_sum * scale;
  bool found_inf = false;
  if (scaler_) {
    rec.loss_scale = scaler_->current_scale();
    found_inf = scaler_->unscale(optimizer_->parameters());  // before clipping
  }
  if (found_inf) {
    rec.grad_norm = std::numeric_limits<double>::infinity();
    rec.skipped = true;
    log::warn("step ", rec.step, ": inf/nan gradients at loss scale ", rec.loss_scale, "; the update is skipped and the "
              "scale lowered to ", rec.loss_scale * opt_.loss_scaler.backoff_factor);
  } else {
    rec.grad_norm = clip_grad_norm(optimizer_->parameters(), opt_.training.max_grad_norm);
    optimizer_->step();
  }
  if (scaler_) scaler_->update(found_inf);
  optimizer_->zero_grad();
  ++step_;
  if (on_step) on_step(rec);
  return rec;
}

namespace {

struct PlanSize {
  int64_t micro_per_epoch = 0, steps_per_epoch = 0, epochs = 0, total = 0;
};

PlanSize plan_size(const DataSilo& silo, const TrainingSection& tr) {
  PlanSize ps;
  for (const auto& t : silo.tasks()) {
    int64_t n = 0;
    for (const auto& b : t.train) n += static_cast<int64_t>(b.samples.size());
    ps.micro_per_epoch += (n + tr.batch_size - 1) / tr.batch_size;
  }
  GRAFT_CHECK(ps.micro_per_epoch > 0, DataError, "no training batches: every task's training set is empty");
  // accumulation windows run over global micro-steps (not reset per epoch); the last partial
  // window of the run still steps
  ps.epochs = std::max<int64_t>(tr.epochs, 1);
  ps.total = (ps.micro_per_epoch * ps.epochs + tr.grad_accumulation - 1) / tr.grad_accumulation;
  ps.steps_per_epoch = (ps.micro_per_epoch + tr.grad_accumulation - 1) / tr.grad_accumulation;
  if (tr.max_steps > 0) {
    if (tr.epochs < 1 || tr.max_steps > ps.total)
      ps.epochs = (tr.max_steps * tr.grad_accumulation + ps.micro_per_epoch - 1) / ps.micro_per_epoch;
    ps.total = tr.max_steps;
  }
  return ps;
}

}  // namespace

TrainResult Trainer::dry_run(DataSilo& silo) {
  TrainResult result;
  const auto& tr = opt_.training;
  for (const auto& t : silo.tasks())
    GRAFT_CHECK(model_.has_task(t.name), ConfigError, "the data has task '", t.name, "' but the model has no head for it");
  torch::manual_seed(static_cast<uint64_t>(opt_.seed));
  PlanSize ps = plan_size(silo, tr);
  set_total_steps(ps.total);
  Plan plan = epoch_plan(silo, tr.batch_size, tr.sampling, static_cast<uint64_t>(opt_.seed) + 1);
  std::vector<TaskBatch> micro;
  for (size_t i = 0; i < plan.size() && static_cast<int64_t>(micro.size()) < tr.grad_accumulation; ++i) {
    const auto& td = silo.tasks()[plan[i].first];
    micro.push_back(TaskBatch{td.name, collate_rows(plan[i].second, *td.processor, silo.tokenizer())});
  }
  auto t0 = std::chrono::steady_clock::now();
  StepRecord rec = train_step(micro);
  result.dry_run_step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.steps.push_back(rec);
  result.peak_rss_bytes = peak_rss_bytes();
  result.seconds = result.dry_run_step_seconds;
  return result;
}

TrainResult Trainer::fit(DataSilo& silo, const std::map<std::string, std::vector<NamedMetric>>& metrics) {
  TrainResult result;
  const auto& tr = opt_.training;
  GRAFT_CHECK(tr.epochs >= 1 || tr.max_steps > 0, ConfigError, "training.epochs must be >= 1 (or set training.max_steps)");
  for (const auto& t : silo.tasks())
    GRAFT_CHECK(model_.has_task(t.name), ConfigError, "the data has task '", t.name, "' but the model has no head for it");

  torch::manual_seed(static_cast<uint64_t>(opt_.seed));
  const PlanSize ps = plan_size(silo, tr);
  const int64_t total = ps.total, epochs = ps.epochs;
  set_total_steps(total);

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

  // loop position: the next micro-batch is plan[pos] of `epoch`; `micro` micro-batches so far
  int64_t step = 0, epoch = 1, micro = 0;
  size_t pos = 0;
  bool epoch_end_done = false;
  Plan plan;
  double elapsed_before = 0.0;

  // ---- resume ---------------------------------------------------------------------------
  if (!opt_.resume.empty()) {
    GRAFT_CHECK(opt_.resume != "latest" || !opt_.checkpoint_dir.empty(), ConfigError,
                "--resume latest: no checkpoint directory is configured");
    const std::string dir = resolve_resume(opt_.resume, opt_.checkpoint_dir);
    const std::string sp = dir + "/trainer_state.json";
    Value st = read_json_file(sp);
    auto need = [&](const char* key) -> const Value& {
      const Value* v = st.find(key);
      GRAFT_CHECK(v != nullptr, FormatError, sp, ": missing field '", key, "'");
      return *v;
    };
    GRAFT_CHECK(need("format").as_int() == 1, FormatError, sp, ": unsupported format ", need("format").as_int());
    const std::string otype = need("optimizer").as_string();
    GRAFT_CHECK(otype == opt_.optimizer.type, ConfigError, "--resume ", dir, ": the checkpoint was trained with optimizer '",
                otype, "', the recipe now says '", opt_.optimizer.type, "'");
    if (need("total_steps").as_int() != total)
      log::warn("--resume: the run now has ", total, " optimizer steps, the checkpoint's had ", need("total_steps").as_int(),
                "; the learning-rate schedule differs from the interrupted run's");
    step = need("step").as_int();
    epoch = need("epoch").as_int();
    pos = static_cast<size_t>(need("position").as_int());
    micro = need("micro_step").as_int();
    epoch_end_done = need("epoch_end_done").as_bool();
    elapsed_before = st.get_double("elapsed_seconds", 0.0);
    step_ = step;
    run_id = st.get_string("run_id", run_id);

    // model weights (by export_state names), optimizer, RNG, sampler, best weights
    {
      torch::NoGradGuard ng;
      StateDict w = read_safetensors(dir + "/model.safetensors", ReadOptions{false});
      std::set<const void*> params;
      for (const auto& p : model_.parameters()) params.insert(p.unsafeGetTensorImpl());
      for (auto& [name, t] : model_.export_state()) {
        const torch::Tensor* src = w.find(name);
        if (src == nullptr) {  // buffers the model writer leaves out (position_ids) are constants
          GRAFT_CHECK(params.count(t.unsafeGetTensorImpl()) == 0, FormatError, dir, "/model.safetensors: parameter '",
                      name, "' is missing");
          continue;
        }
        GRAFT_CHECK(src->sizes() == t.sizes() && src->scalar_type() == t.scalar_type(), FormatError, dir,
                    "/model.safetensors: '", name, "' is ", src->scalar_type(), " ", src->sizes(), ", the model has ",
                    t.scalar_type(), " ", t.sizes());
        t.copy_(*src);
      }
    }
    optimizer_->load_state(from_state_dict(read_safetensors(dir + "/optimizer.safetensors", ReadOptions{false})));
    std::set<std::string> with_grad;
    for (const auto& g : need("grad_defined").as_array()) with_grad.insert(g.as_string());
    for (const auto& p : optimizer_->parameters())
      if (with_grad.count(p.name)) p.param.mutable_grad() = torch::zeros_like(p.param);
    set_rng_state(from_state_dict(read_safetensors(dir + "/rng.safetensors", ReadOptions{false})));
    StateDict smp = read_safetensors(dir + "/sampler.safetensors", ReadOptions{false});
    const torch::Tensor& sizes = smp.at("sizes");
    GRAFT_CHECK(sizes.numel() == static_cast<int64_t>(silo.tasks().size()), DataError, "--resume ", dir,
                ": the checkpoint has ", sizes.numel(), " training task(s), the recipe ", silo.tasks().size());
    for (size_t t = 0; t < silo.tasks().size(); ++t) {
      int64_t n = 0;
      for (const auto& b : silo.tasks()[t].train) n += static_cast<int64_t>(b.samples.size());
      GRAFT_CHECK(sizes[static_cast<int64_t>(t)].item<int64_t>() == n, DataError, "--resume ", dir, ": task '",
                  silo.tasks()[t].name, "' had ", sizes[static_cast<int64_t>(t)].item<int64_t>(),
                  " training samples, now ", n, "; the training data differs from the checkpoint's");
    }
    plan = plan_from_tensor(smp.at("rows"), silo, dir + "/sampler.safetensors");
    GRAFT_CHECK(pos <= plan.size(), FormatError, sp, ": position ", pos, " is beyond the epoch's ", plan.size(), " batches");
    const Value& esv = need("early_stopping");
    have_best = esv.get_bool("have_best", false);
    result.best_value = esv.get_double("best_value", 0.0);
    result.best_step = esv.get_int("best_step", 0);
    bad_evals = esv.get_int("bad_evals", 0);
    if (have_best && es.enabled() && es.restore_best) {
      GRAFT_CHECK(std::filesystem::exists(dir + "/best.safetensors"), FormatError, dir,
                  ": best.safetensors is missing (early stopping keeps the best weights)");
      best_state = from_state_dict(read_safetensors(dir + "/best.safetensors", ReadOptions{false}));
    }
    if (scaler_ && st.contains("loss_scaler")) {
      const Value& ls = st.at("loss_scaler");
      scaler_->set_state(ls.get_double("scale", opt_.loss_scaler.init_scale), ls.get_int("growth_tracker", 0),
                         ls.get_int("skipped", 0));
    }
    for (const auto& h : need("history").as_array()) result.steps.push_back(step_from_value(h));
    for (const auto& e : need("evaluations").as_array()) {
      EvalRecord er;
      er.step = e.get_int("step", 0);
      er.epoch = e.get_int("epoch", 0);
      er.metrics = e.contains("metrics") ? e.at("metrics") : Value::object();
      result.evaluations.push_back(er);
      result.dev_metrics = er.metrics;
    }
    result.resumed_from_step = step;
    log::info("resumed from ", dir, ": step ", step, "/", total, ", epoch ", epoch, ", batch ", pos, "/", plan.size());
  } else {
    plan = epoch_plan(silo, tr.batch_size, tr.sampling, static_cast<uint64_t>(opt_.seed) + 1);
  }

  log::info("training: ", total, " optimizer steps (", ps.steps_per_epoch, " per epoch, ", epochs, " epoch",
            epochs == 1 ? "" : "s", ", batch ", tr.batch_size, " x ", tr.grad_accumulation, " accumulation), optimizer ",
            opt_.optimizer.type, " lr ", opt_.optimizer.lr,
            opt_.optimizer.layer_decay != 1.0 ? cat(" layer_decay ", opt_.optimizer.layer_decay) : std::string(),
            ", schedule ", opt_.schedule.type, " warmup ", warmup_, " steps, precision ", tr.precision);

  std::unique_ptr<SignalGuard> signals;
  if (!opt_.checkpoint_dir.empty()) signals = std::make_unique<SignalGuard>();

  auto t0 = std::chrono::steady_clock::now();
  Progress progress(total, tr.progress, tr.log_every, step);

  auto evaluate_dev = [&](int64_t at_step, int64_t at_epoch) -> bool {  // returns true to stop
    if (!have_dev) return false;
    progress.interrupt();
    auto e0 = std::chrono::steady_clock::now();
    EvalRecord er;
    er.step = at_step;
    er.epoch = at_epoch;
    for (const auto& t : silo.tasks()) {
      if (t.dev.empty()) continue;
      auto ev = evaluator.evaluate(t.name, *t.processor, t.dev);
      merge_metrics(er.metrics, ev.metrics);
    }
    if (es.enabled() && es.metric == "loss") {
      double sum = 0.0;
      for (const auto& [k, x] : er.metrics.as_object())
        if (k.size() > 5 && k.compare(k.size() - 5, 5, "/loss") == 0) sum += x.as_double();
      er.metrics.set("loss", sum);
    }
    log::info("dev @ step ", at_step, " (epoch ", at_epoch, ", ",
              fmt_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count()), "): ",
              metrics_line(er.metrics));
    result.evaluations.push_back(er);
    result.dev_metrics = er.metrics;
    if (on_evaluation) on_evaluation(er);
    if (!es.enabled()) return false;
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
      result.best_step = at_step;
      bad_evals = 0;
      if (es.restore_best) best_state = model_.snapshot();
      return false;
    }
    ++bad_evals;
    log::info("early stopping: ", es.metric, " ", x, " is no improvement on ", result.best_value, " (step ",
              result.best_step, "), ", bad_evals, "/", es.patience);
    return bad_evals >= es.patience;
  };

  auto write_checkpoint = [&](const std::string& why) {
    if (opt_.checkpoint_dir.empty()) return;
    progress.interrupt();
    auto c0 = std::chrono::steady_clock::now();
    const std::string final_dir = opt_.checkpoint_dir + "/" + checkpoint_name(step);
    const std::string tmp = make_temp_dir_for(final_dir);
    try {
      if (save_model) {
        save_model(tmp);
      } else {
        StateDict sd;
        for (const auto& [k, t] : model_.export_state()) sd.set(k, t.detach());
        write_safetensors(tmp + "/model.safetensors", sd);
      }
      GRAFT_CHECK(std::filesystem::exists(tmp + "/model.safetensors"), Error,
                  "checkpoint: the model writer produced no model.safetensors");
      write_safetensors(tmp + "/optimizer.safetensors", to_state_dict(optimizer_->state()));
      write_safetensors(tmp + "/rng.safetensors", to_state_dict(rng_state()));
      StateDict smp;
      smp.set("rows", plan_to_tensor(plan, silo));
      std::vector<int64_t> sizes;
      for (const auto& t : silo.tasks()) {
        int64_t n = 0;
        for (const auto& b : t.train) n += static_cast<int64_t>(b.samples.size());
        sizes.push_back(n);
      }
      smp.set("sizes", torch::tensor(sizes, torch::kInt64));
      write_safetensors(tmp + "/sampler.safetensors", smp);
      if (!best_state.empty()) write_safetensors(tmp + "/best.safetensors", to_state_dict(best_state));
      Value st = Value::object();
      st.set("format", int64_t{1});
      st.set("step", step);
      st.set("epoch", epoch);
      st.set("position", static_cast<int64_t>(pos));
      st.set("micro_step", micro);
      st.set("accumulation_phase", micro % tr.grad_accumulation);
      st.set("epoch_end_done", epoch_end_done);
      st.set("total_steps", total);
      st.set("epochs", epochs);
      st.set("warmup_steps", warmup_);
      st.set("schedule_step", step_);
      st.set("seed", opt_.seed);
      st.set("optimizer", opt_.optimizer.type);
      st.set("precision", tr.precision);
      st.set("run_id", run_id);
      st.set("reason", why);
      st.set("elapsed_seconds", elapsed_before + progress.elapsed());
      Value esv = Value::object();
      esv.set("metric", es.metric);
      esv.set("have_best", have_best);
      esv.set("best_value", result.best_value);
      esv.set("best_step", result.best_step);
      esv.set("bad_evals", bad_evals);
      esv.set("best_weights", best_state.empty() ? Value() : Value("best.safetensors"));
      st.set("early_stopping", esv);
      if (scaler_) {
        Value ls = Value::object();
        ls.set("scale", scaler_->current_scale());
        ls.set("growth_tracker", scaler_->growth_tracker());
        ls.set("skipped", scaler_->skipped_steps());
        st.set("loss_scaler", ls);
      }
      Value grads = Value::array();
      for (const auto& p : optimizer_->parameters())
        if (p.param.grad().defined()) grads.push_back(p.name);
      st.set("grad_defined", grads);
      Value hist = Value::array();
      for (const auto& s : result.steps) hist.push_back(step_to_value(s));
      st.set("history", hist);
      Value evals = Value::array();
      for (const auto& e : result.evaluations) {
        Value ev = Value::object();
        ev.set("step", e.step);
        ev.set("epoch", e.epoch);
        ev.set("metrics", e.metrics);
        evals.push_back(ev);
      }
      st.set("evaluations", evals);
      write_json_file(tmp + "/trainer_state.json", st);
      if (opt_.resolved_recipe.is_object()) write_file_atomic(tmp + "/resolved_recipe.toml", to_toml(opt_.resolved_recipe));
      Value info = Value::object();
      info.set("reason", why);
      info.set("epoch", epoch);
      write_checkpoint_manifest(tmp, step, info);
      commit_checkpoint(tmp, final_dir);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove_all(tmp, ec);
      throw;
    }
    prune_checkpoints(opt_.checkpoint_dir, opt_.checkpoint.keep);
    result.checkpoint = final_dir;
    log::info("checkpoint (", why, ") at step ", step, ": ", final_dir, " (",
              fmt_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count()), ")");
  };

  // ---- the loop -----------------------------------------------------------------------------
  bool stop = false;
  std::vector<TaskBatch> pending;
  auto end_of_epoch = [&] {
    if (!stop && (result.evaluations.empty() || result.evaluations.back().step != step)) stop = evaluate_dev(step, epoch);
    epoch_end_done = true;
  };
  while (step < total && !stop) {
    if (pos == plan.size()) {
      if (!epoch_end_done) end_of_epoch();
      if (stop || epoch >= epochs) break;
      ++epoch;
      plan = epoch_plan(silo, tr.batch_size, tr.sampling, static_cast<uint64_t>(opt_.seed) + static_cast<uint64_t>(epoch));
      pos = 0;
      epoch_end_done = false;
    }
    const auto& td = silo.tasks()[plan[pos].first];
    pending.push_back(TaskBatch{td.name, collate_rows(plan[pos].second, *td.processor, silo.tokenizer())});
    ++pos;
    ++micro;
    const bool last_of_run = epoch >= epochs && pos == plan.size();
    if (static_cast<int64_t>(pending.size()) < tr.grad_accumulation && !last_of_run) continue;
    StepRecord rec = train_step(pending);
    pending.clear();
    step = rec.step;
    result.steps.push_back(rec);
    if (rec.skipped) ++result.skipped_steps;
    progress.update(rec, epoch, epochs);
    if (tr.evaluate_every > 0 && step % tr.evaluate_every == 0 && step < total) stop = evaluate_dev(step, epoch);
    if (pos == plan.size()) end_of_epoch();
    if (stop || step >= total) break;
    if (int sig = SignalGuard::pending(); sig != 0 && signals) {
      write_checkpoint(cat("signal ", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : std::to_string(sig)));
      result.interrupted = true;
      result.interrupt_signal = sig;
      SignalGuard::clear();
      break;
    }
    if (opt_.checkpoint.every > 0 && step % opt_.checkpoint.every == 0) write_checkpoint(cat("every ", opt_.checkpoint.every));
  }
  progress.finish();
  if (result.interrupted) {
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }
  // final dev evaluation (max_steps may end mid-epoch)
  if (!stop && (result.evaluations.empty() || result.evaluations.back().step != step)) stop = evaluate_dev(step, epoch);
  if (!opt_.checkpoint_dir.empty() && (opt_.checkpoint.every > 0 || !opt_.resume.empty() || SignalGuard::pending() != 0))
    write_checkpoint(stop ? "early stop" : "end");
  SignalGuard::clear();
  signals.reset();
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
    result.test_inputs[t.name] = std::move(ev.input);
  }
  if (result.test_metrics.size() > 0) log::info("test: ", metrics_line(result.test_metrics));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (scaler_ && scaler_->skipped_steps() > 0)
    log::info("fp16: ", scaler_->skipped_steps(), " step(s) skipped for inf/nan gradients; final loss scale ",
              scaler_->current_scale());
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
  o.checkpoint = recipe.checkpoint;
  return o;
}

std::string checkpoints_root(const Recipe& recipe) {
  if (!recipe.checkpoint.dir.empty()) {
    std::string d = recipe.checkpoint.dir;
    for (size_t pos; (pos = d.find("{name}")) != std::string::npos;) d.replace(pos, 6, recipe.run.name);
    return d;
  }
  std::string out = output_dir(recipe);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out + "-checkpoints";
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
  TrainRecipeOptions o;
  o.save = save;
  return train_recipe(recipe, registry, device, o);
}

TrainingRun train_recipe(const Recipe& recipe, Registry& registry, const torch::Device& device,
                         const TrainRecipeOptions& options) {
  TrainingRun run;
  TrainerOptions topts = trainer_options(recipe);
  check_precision(topts.training.precision, device);
  SiloOptions so;
  so.base_dir = recipe.base_dir;
  so.seed = recipe.run.seed;
  configure_feature_cache(recipe, so);
  run.build = build_from_recipe(recipe, registry, so);
  if (options.after_build) options.after_build(run.build);
  auto& bundle = run.build.bundle;
  bundle.model->to_device(device);
  std::map<std::string, std::vector<NamedMetric>> metrics;
  for (const auto& t : bundle.tasks) metrics[t.name] = make_metrics(t.metrics, registry);
  const Value resolved = resolved_recipe(recipe, registry);
  if (!options.dry_run) {
    topts.checkpoint_dir = checkpoints_root(recipe);
    topts.resume = options.resume;
    topts.resolved_recipe = resolved;
  }
  Trainer trainer(*bundle.model, topts);
  if (options.dry_run) {
    run.result = trainer.dry_run(*run.build.silo);
    return run;
  }
  trainer.save_model = [&bundle](const std::string& dir) { save_model_dir(bundle, dir); };
  std::unique_ptr<RunTracker> tracker;  // MLflow + report.html ([tracking]); never stops training
  if (options.track) {
    tracker = std::make_unique<RunTracker>(recipe, resolved, &trainer.run_id);
    trainer.on_step = [&tracker](const StepRecord& r) { tracker->on_step(r); };
    trainer.on_evaluation = [&tracker](const EvalRecord& e) { tracker->on_evaluation(e); };
  }
  run.result = trainer.fit(*run.build.silo, metrics);
  if (options.save && !run.result.interrupted) {
    run.output_dir = output_dir(recipe);
    save_model_dir(bundle, run.output_dir, resolved);
    write_json_file(run.output_dir + "/metrics.json", training_summary(run.result));
  }
  if (tracker) tracker->finish(run.result, run.output_dir, run.result.test_inputs);
  return run;
}

}  // namespace graft::core
