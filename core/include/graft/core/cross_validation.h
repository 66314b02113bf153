#pragma once
// Cross-validation: k-fold and stratified k-fold assignments, a seeded holdout, and the run
// that trains one fresh model per fold ([cross_validation] folds = k) and reports per-fold
// metrics with their mean and standard deviation.
#include <graft/core/trainer.h>
#include <graft/value.h>

#include <cstdint>
#include <string>
#include <vector>

namespace graft::core {

/// Fold (0..k-1) of each of n items: a seeded permutation dealt round-robin, so fold sizes
/// differ by at most one. ConfigError when k < 2 or k > n.
std::vector<int> kfold_assignment(size_t n, int k, uint64_t seed);
/// Stratified: each label's items (seeded order) are dealt round-robin, continuing where the
/// previous label stopped, so every fold keeps each label's share (±1 item) and fold sizes
/// differ by at most one.
std::vector<int> stratified_kfold_assignment(const std::vector<std::string>& labels, int k, uint64_t seed);
/// Seeded holdout: true for the round(fraction·n) items held out (per label when `labels` is
/// given: stratified).
std::vector<bool> holdout_mask(size_t n, double fraction, uint64_t seed, const std::vector<std::string>* labels = nullptr);

/// Moves a seeded holdout (cross_validation.holdout, stratified per `stratified`) of each
/// task's training records into its test set — for tasks without a test file.
void apply_holdout(RecipeBuild& build, const CrossValidationSection& cv, uint64_t seed);

struct FoldResult {
  int fold = 0;               ///< 1-based
  Value dev = Value::object();   ///< metrics on the held-out fold ("task/metric")
  Value test = Value::object();  ///< metrics on the test set (file or holdout), when there is one
  int64_t steps = 0;
  double seconds = 0.0;
  int64_t train_records = 0, fold_records = 0;
};

struct CrossValidationResult {
  std::vector<FoldResult> folds;
  Value dev_mean = Value::object(), dev_std = Value::object();
  Value test_mean = Value::object(), test_std = Value::object();
  std::string output_dir;  ///< where cross_validation.json / report.html went ("" when not saved)
  Value to_value() const;  ///< cross_validation.json
};

/// Runs [cross_validation] folds = k: the training records of every task (train + dev) are
/// pooled, an optional holdout becomes the test set (when the task has no test file), and for
/// each fold a fresh model trains on the other folds and is evaluated on this one (used as
/// dev: evaluation schedule and early stopping) and on the test set. Writes
/// <output_dir>/cross_validation.json and report.html; tracks to MLflow per [tracking].
CrossValidationResult cross_validate(const Recipe& recipe, Registry& registry, const torch::Device& device,
                                     bool save = true);

}  // namespace graft::core
