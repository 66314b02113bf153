#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <graft/error.h>

#include "exact_match.h"

TEST_CASE("exact_match counts equal values") {
  hello::ExactMatch m({});
  graft::MetricInput in;
  in.gold = {graft::Value("a"), graft::Value("B"), graft::Value(3), graft::Value(4)};
  in.pred = {graft::Value("a"), graft::Value("b"), graft::Value(3), graft::Value("4")};
  CHECK(m.compute(in).at("exact_match").as_double() == doctest::Approx(0.5));
  hello::ExactMatchOptions o;
  o.ignore_case = true;
  o.key = "em";
  CHECK(hello::ExactMatch(o).compute(in).at("em").as_double() == doctest::Approx(0.75));
}

TEST_CASE("exact_match refuses inputs of different length") {
  hello::ExactMatch m({});
  graft::MetricInput in;
  in.gold = {graft::Value(1)};
  CHECK_THROWS_WITH_AS(m.compute(in), "exact_match: 1 gold values but 0 predictions", graft::DataError);
}
