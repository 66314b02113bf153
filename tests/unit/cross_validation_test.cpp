// Cross-validation split logic: k-fold and stratified k-fold are disjoint, cover every record,
// balanced, deterministic per seed; stratified folds keep label shares; holdout sizes.
#include <graft/core/cross_validation.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace graft;
using namespace graft::core;

TEST_CASE("k-fold: every record in exactly one fold, sizes within one, seeded") {
  for (size_t n : {5, 10, 101, 1000})
    for (int k : {2, 3, 5}) {
      CAPTURE(n);
      CAPTURE(k);
      auto a = kfold_assignment(n, k, 7);
      REQUIRE(a.size() == n);  // covering: one fold per record (so folds are disjoint)
      std::vector<size_t> size(static_cast<size_t>(k), 0);
      for (int f : a) {
        REQUIRE(f >= 0);
        REQUIRE(f < k);
        ++size[static_cast<size_t>(f)];
      }
      auto [lo, hi] = std::minmax_element(size.begin(), size.end());
      CHECK(*hi - *lo <= 1);
      CHECK(kfold_assignment(n, k, 7) == a);
      if (n >= 10) CHECK(kfold_assignment(n, k, 8) != a);
    }
  CHECK_THROWS_AS(kfold_assignment(10, 1, 0), ConfigError);
  CHECK_THROWS_AS(kfold_assignment(3, 5, 0), DataError);
}

TEST_CASE("stratified k-fold keeps each label's share in every fold") {
  std::vector<std::string> labels;
  for (int i = 0; i < 700; ++i) labels.push_back(i % 7 == 0 ? "rare" : (i % 3 == 0 ? "b" : "a"));
  std::map<std::string, int> total;
  for (const auto& l : labels) ++total[l];
  for (int k : {2, 4, 5}) {
    CAPTURE(k);
    auto a = stratified_kfold_assignment(labels, k, 3);
    REQUIRE(a.size() == labels.size());
    std::vector<std::map<std::string, int>> per(static_cast<size_t>(k));
    std::vector<int> size(static_cast<size_t>(k), 0);
    for (size_t i = 0; i < a.size(); ++i) {
      ++per[static_cast<size_t>(a[i])][labels[i]];
      ++size[static_cast<size_t>(a[i])];
    }
    for (int f = 0; f < k; ++f)
      for (const auto& [l, n] : total) {
        double expect = static_cast<double>(n) / k;
        CHECK(std::abs(per[static_cast<size_t>(f)][l] - expect) <= 1.0);
      }
    auto [lo, hi] = std::minmax_element(size.begin(), size.end());
    CHECK(*hi - *lo <= 1);
    CHECK(stratified_kfold_assignment(labels, k, 3) == a);
  }
}

TEST_CASE("holdout: round(fraction * n) records, stratified per label, seeded") {
  auto m = holdout_mask(200, 0.1, 5);
  CHECK(std::count(m.begin(), m.end(), true) == 20);
  CHECK(holdout_mask(200, 0.1, 5) == m);
  CHECK(holdout_mask(200, 0.1, 6) != m);
  std::vector<std::string> labels;
  for (int i = 0; i < 200; ++i) labels.push_back(i < 40 ? "x" : "y");
  auto s = holdout_mask(200, 0.25, 5, &labels);
  int x = 0, y = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i]) (labels[i] == "x" ? x : y)++;
  CHECK(x == 10);
  CHECK(y == 40);
  auto none = holdout_mask(10, 0.0, 1);
  CHECK(std::count(none.begin(), none.end(), true) == 0);
  CHECK_THROWS_AS(holdout_mask(10, 1.0, 1), ConfigError);
}
