// Cross-validation: fold assignments, holdout, and one fresh model per fold.
#include <graft/core/cross_validation.h>
#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/tracking.h>
#include <graft/error.h>
#include <graft/log.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace graft::core {

std::vector<int> kfold_assignment(size_t n, int k, uint64_t seed) {
  GRAFT_CHECK(k >= 2, ConfigError, "cross_validation.folds must be >= 2, got ", k);
  GRAFT_CHECK(static_cast<size_t>(k) <= n, DataError, "cross-validation with ", k, " folds needs at least ", k,
              " training records, found ", n);
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  seeded_shuffle(idx, seed);
  std::vector<int> fold(n, 0);
  for (size_t r = 0; r < n; ++r) fold[idx[r]] = static_cast<int>(r % static_cast<size_t>(k));
  return fold;
}

std::vector<int> stratified_kfold_assignment(const std::vector<std::string>& labels, int k, uint64_t seed) {
  const size_t n = labels.size();
  GRAFT_CHECK(k >= 2, ConfigError, "cross_validation.folds must be >= 2, got ", k);
  GRAFT_CHECK(static_cast<size_t>(k) <= n, DataError, "cross-validation with ", k, " folds needs at least ", k,
              " training records, found ", n);
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[labels[i]].push_back(i);
  std::vector<int> fold(n, 0);
  size_t next = 0;  // round-robin position carried across labels: fold sizes stay within one
  uint64_t g = 0;
  for (auto& [label, idx] : groups) {
    seeded_shuffle(idx, seed + 0x9E3779B97F4A7C15ULL * ++g);
    for (size_t i : idx) fold[i] = static_cast<int>(next++ % static_cast<size_t>(k));
  }
  return fold;
}

std::vector<bool> holdout_mask(size_t n, double fraction, uint64_t seed, const std::vector<std::string>* labels) {
  GRAFT_CHECK(fraction >= 0.0 && fraction < 1.0, ConfigError, "cross_validation.holdout must be in [0, 1), got ", fraction);
  std::vector<bool> out(n, false);
  auto take = [&](std::vector<size_t>& idx, uint64_t s) {
    seeded_shuffle(idx, s);
    auto m = static_cast<size_t>(std::llround(fraction * static_cast<double>(idx.size())));
    for (size_t i = 0; i < m && i < idx.size(); ++i) out[idx[i]] = true;
  };
  if (labels) {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i = 0; i < n; ++i) groups[(*labels)[i]].push_back(i);
    uint64_t g = 0;
    for (auto& [_, idx] : groups) take(idx, seed ^ (0xC2B2AE3D27D4EB4FULL * ++g));
  } else {
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i;
    take(idx, seed ^ 0xC2B2AE3D27D4EB4FULL);
  }
  return out;
}

Value CrossValidationResult::to_value() const {
  Value v = Value::object();
  Value fs_ = Value::array();
  for (const auto& f : folds) {
    Value x = Value::object();
    x.set("fold", f.fold);
    x.set("train_records", f.train_records);
    x.set("fold_records", f.fold_records);
    x.set("steps", f.steps);
    x.set("seconds", f.seconds);
    x.set("dev", f.dev);
    x.set("test", f.test);
    fs_.push_back(x);
  }
  v.set("folds", fs_);
  Value mean = Value::object(), sd = Value::object();
  mean.set("dev", dev_mean);
  mean.set("test", test_mean);
  sd.set("dev", dev_std);
  sd.set("test", test_std);
  v.set("mean", mean);
  v.set("std", sd);
  return v;
}

namespace {

std::string line(const Value& m) {
  std::ostringstream os;
  bool first = true;
  for (const auto& [k, v] : m.as_object()) {
    if (!v.is_number()) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", v.as_double());
    os << (first ? "" : ", ") << k << " " << buf;
    first = false;
  }
  return os.str();
}

std::string mean_std_line(const Value& mean, const Value& sd) {
  std::ostringstream os;
  bool first = true;
  for (const auto& [k, v] : mean.as_object()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.4f ± %.4f", v.as_double(), sd.at(k).as_double());
    os << (first ? "" : ", ") << k << " " << buf;
    first = false;
  }
  return os.str();
}

/// Pools train + dev of every task, splits off the holdout (tasks without a test file), and
/// returns per task the pooled records (fold assignment happens on this fixed order).
void pool_task(TaskData& td, const CrossValidationSection& cv, uint64_t seed) {
  std::vector<Basket> pool = std::move(td.train);
  for (auto& b : td.dev) pool.push_back(std::move(b));
  td.dev.clear();
  // a fixed order, independent of how dev_split distributed the records
  std::stable_sort(pool.begin(), pool.end(), [](const Basket& a, const Basket& b) {
    return a.loc.file != b.loc.file ? a.loc.file < b.loc.file : a.loc.line < b.loc.line;
  });
  if (cv.holdout > 0.0 && td.test.empty()) {
    std::vector<std::string> labels;
    for (const auto& b : pool) labels.push_back(td.processor->label_of(b));
    auto mask = holdout_mask(pool.size(), cv.holdout, seed, cv.stratified ? &labels : nullptr);
    std::vector<Basket> keep;
    for (size_t i = 0; i < pool.size(); ++i) (mask[i] ? td.test : keep).push_back(std::move(pool[i]));
    pool = std::move(keep);
  }
  td.train = std::move(pool);
}

void refresh_stats(TaskData& td, const std::string& what) {
  td.stats.clear();
  for (const char* s : {"train", "dev", "test"}) {
    const auto& b = td.split(s);
    if (b.empty()) continue;
    td.stats[s] = compute_stats(b, *td.processor);
    log::info(what, " ", s, ": ", td.stats[s].str());
  }
}

}  // namespace

void apply_holdout(RecipeBuild& build, const CrossValidationSection& cv, uint64_t seed) {
  if (cv.holdout <= 0.0) return;
  for (auto& td : build.silo->tasks()) {
    if (!td.test.empty()) {
      log::info("task '", td.name, "': has a test file; cross_validation.holdout is not applied");
      continue;
    }
    std::vector<std::string> labels;
    for (const auto& b : td.train) labels.push_back(td.processor->label_of(b));
    auto mask = holdout_mask(td.train.size(), cv.holdout, seed, cv.stratified ? &labels : nullptr);
    std::vector<Basket> keep;
    for (size_t i = 0; i < td.train.size(); ++i) (mask[i] ? td.test : keep).push_back(std::move(td.train[i]));
    td.train = std::move(keep);
    GRAFT_CHECK(!td.train.empty(), DataError, "task '", td.name, "': holdout ", cv.holdout, " leaves no training records");
    refresh_stats(td, cat("task '", td.name, "' (holdout ", cv.holdout, ")"));
  }
}

CrossValidationResult cross_validate(const Recipe& recipe, Registry& registry, const torch::Device& device, bool save) {
  const auto& cv = recipe.cross_validation;
  const int k = static_cast<int>(cv.folds);
  GRAFT_CHECK(k >= 2, ConfigError, recipe.path, ": cross_validation.folds must be >= 2 to cross-validate, got ", k);
  const uint64_t seed = static_cast<uint64_t>(recipe.run.seed);
  CrossValidationResult res;
  std::vector<Value> devs, tests;
  for (int f = 0; f < k; ++f) {
    log::info("cross-validation: fold ", f + 1, "/", k);
    FoldResult fr;
    fr.fold = f + 1;
    TrainRecipeOptions o;
    o.save = false;
    o.track = false;
    o.after_build = [&](RecipeBuild& b) {
      for (auto& td : b.silo->tasks()) {
        pool_task(td, cv, seed);
        std::vector<int> assign;
        if (cv.stratified) {
          std::vector<std::string> labels;
          for (const auto& x : td.train) labels.push_back(td.processor->label_of(x));
          assign = stratified_kfold_assignment(labels, k, seed);
        } else {
          assign = kfold_assignment(td.train.size(), k, seed);
        }
        std::vector<Basket> train, held;
        for (size_t i = 0; i < td.train.size(); ++i) (assign[i] == f ? held : train).push_back(std::move(td.train[i]));
        td.train = std::move(train);
        td.dev = std::move(held);
        fr.train_records += static_cast<int64_t>(td.train.size());
        fr.fold_records += static_cast<int64_t>(td.dev.size());
        refresh_stats(td, cat("task '", td.name, "' fold ", f + 1, "/", k));
      }
    };
    TrainingRun run = train_recipe(recipe, registry, device, o);
    GRAFT_CHECK(!run.result.interrupted, Error, "cross-validation interrupted in fold ", f + 1);
    fr.dev = run.result.dev_metrics;
    fr.test = run.result.test_metrics;
    fr.steps = static_cast<int64_t>(run.result.steps.size());
    fr.seconds = run.result.seconds;
    log::info("cross-validation fold ", f + 1, "/", k, ": ", line(fr.dev),
              fr.test.size() > 0 ? cat(" | test: ", line(fr.test)) : std::string());
    devs.push_back(fr.dev);
    tests.push_back(fr.test);
    res.folds.push_back(std::move(fr));
  }
  fold_statistics(devs, res.dev_mean, res.dev_std);
  fold_statistics(tests, res.test_mean, res.test_std);
  log::info("cross-validation (", k, cv.stratified ? " stratified folds" : " folds", "), fold metrics mean ± std: ",
            mean_std_line(res.dev_mean, res.dev_std));
  if (res.test_mean.size() > 0) log::info("cross-validation test metrics mean ± std: ", mean_std_line(res.test_mean, res.test_std));

  // tracking: one MLflow run; per-fold metrics use the fold number as the step
  std::unique_ptr<MlflowRun> ml;
  if (!recipe.tracking.mlflow.empty()) {
    ml = std::make_unique<MlflowRun>(recipe.tracking.mlflow, recipe.tracking.experiment,
                                     (recipe.tracking.run_name.empty() ? recipe.run.name : recipe.tracking.run_name) + " (cv)");
    ml->log_params(resolved_recipe(recipe, registry));
    ml->set_tag("graft.cross_validation.folds", std::to_string(k));
    for (const auto& fr : res.folds) {
      for (const auto& [key, v] : fr.dev.as_object())
        if (v.is_number()) ml->log_metric("cv/dev/" + key, v.as_double(), fr.fold);
      for (const auto& [key, v] : fr.test.as_object())
        if (v.is_number()) ml->log_metric("cv/test/" + key, v.as_double(), fr.fold);
    }
    for (const auto& [prefix, obj] : {std::pair<std::string, const Value*>{"cv_mean/dev/", &res.dev_mean},
                                      {"cv_std/dev/", &res.dev_std},
                                      {"cv_mean/test/", &res.test_mean},
                                      {"cv_std/test/", &res.test_std}})
      for (const auto& [key, v] : obj->as_object()) ml->log_metric(prefix + key, v.as_double(), k);
  }
  if (save) {
    res.output_dir = output_dir(recipe);
    fs::create_directories(res.output_dir);
    write_json_file(res.output_dir + "/cross_validation.json", res.to_value());
    if (recipe.tracking.report) {
      ReportData d;
      d.title = recipe.run.name + " — cross-validation";
      d.folds = devs;
      d.fold_mean = res.dev_mean;
      d.fold_std = res.dev_std;
      d.recipe_toml = to_toml(resolved_recipe(recipe, registry));
      if (ml && ml->ok()) d.run_id = ml->run_id();
      write_report_html(res.output_dir + "/report.html", d);
      if (ml) ml->log_artifact(res.output_dir + "/report.html");
    }
    if (ml) ml->log_artifact(res.output_dir + "/cross_validation.json");
  }
  if (ml) ml->finish();
  return res;
}

}  // namespace graft::core
