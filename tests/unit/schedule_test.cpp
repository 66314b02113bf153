// Learning-rate schedules: pure functions of the optimizer step (HF semantics).
#include <graft/core/optim.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <cmath>

using namespace graft;
using namespace graft::core;

TEST_CASE("linear warmup + decay reproduces get_linear_schedule_with_warmup(opt, 2, 5)") {
  // training golden: lr = 1e-3 x [0, 0.5, 1, 2/3, 1/3]; the first step runs with lr 0
  const double expected[] = {0.0, 0.0005, 0.001, 0.0006666666666666666, 0.0003333333333333333};
  for (int s = 0; s < 5; ++s) CHECK(1e-3 * schedule_factor("linear", s, 2, 5) == expected[s]);
  CHECK(schedule_factor("linear", 5, 2, 5) == 0.0);
  CHECK(schedule_factor("linear", 9, 2, 5) == 0.0);  // never negative
}

TEST_CASE("constant and cosine schedules") {
  CHECK(schedule_factor("constant", 0, 0, 10) == 1.0);
  CHECK(schedule_factor("constant", 7, 0, 10) == 1.0);
  CHECK(schedule_factor("constant", 1, 4, 10) == doctest::Approx(0.25));
  CHECK(schedule_factor("constant", 4, 4, 10) == 1.0);
  // cosine: half a cycle from 1 to 0 after warmup
  CHECK(schedule_factor("cosine", 0, 0, 10) == doctest::Approx(1.0));
  CHECK(schedule_factor("cosine", 5, 0, 10) == doctest::Approx(0.5));
  CHECK(schedule_factor("cosine", 10, 0, 10) == doctest::Approx(0.0));
  CHECK(schedule_factor("cosine", 1, 2, 10) == doctest::Approx(0.5));
  CHECK(schedule_factor("cosine", 6, 2, 10) == doctest::Approx(0.5 * (1 + std::cos(M_PI * 0.5))));
}

TEST_CASE("warmup fraction or steps") {
  CHECK(warmup_steps(0.1, 100) == 10);
  CHECK(warmup_steps(0.25, 10) == 2);  // floored
  CHECK(warmup_steps(0.0, 10) == 0);
  CHECK(warmup_steps(3.0, 10) == 3);
  CHECK_THROWS_AS(warmup_steps(-0.5, 10), ConfigError);
}

TEST_CASE("unknown schedule type is a ConfigError naming the known ones") {
  CHECK_THROWS_AS(schedule_factor("linaer", 0, 0, 10), ConfigError);
  try {
    check_schedule_type("polynom");
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("constant, linear, cosine") != std::string::npos);
  }
}
