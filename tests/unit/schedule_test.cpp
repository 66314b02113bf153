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

namespace {
ScheduleSection sched(const std::string& type) {
  ScheduleSection s;
  s.type = type;
  return s;
}
}  // namespace

TEST_CASE("cosine with num_cycles and hard restarts (transformers' formulas)") {
  auto full = sched("cosine");
  full.num_cycles = 1.0;  // a whole wave: 1 → 0 → 1
  CHECK(schedule_factor(full, 5, 0, 10, 1.0) == doctest::Approx(0.0));
  CHECK(schedule_factor(full, 10, 0, 10, 1.0) == doctest::Approx(1.0));
  CHECK(schedule_factor(sched("cosine"), 5, 0, 10, 1.0) == doctest::Approx(0.5));  // default 0.5

  auto hr = sched("cosine_with_restarts");
  hr.num_cycles = 2.0;
  CHECK(schedule_factor(hr, 0, 0, 10, 1.0) == doctest::Approx(1.0));
  CHECK(schedule_factor(hr, 2, 0, 10, 1.0) == doctest::Approx(0.6545084971874737));  // 0.5(1+cos 0.4π)
  CHECK(schedule_factor(hr, 5, 0, 10, 1.0) == doctest::Approx(1.0));                 // restart
  CHECK(schedule_factor(hr, 7, 0, 10, 1.0) == doctest::Approx(0.6545084971874737));
  CHECK(schedule_factor(hr, 10, 0, 10, 1.0) == 0.0);
  CHECK(schedule_factor(hr, 1, 2, 10, 1.0) == doctest::Approx(0.5));  // warmup
  // default: one cycle = plain cosine to 0
  CHECK(schedule_factor(sched("cosine_with_restarts"), 5, 0, 10, 1.0) == doctest::Approx(0.5));
}

TEST_CASE("polynomial decay to lr_end with power") {
  auto p = sched("polynomial");
  p.power = 2.0;
  p.lr_end = 1e-4;
  const double lr = 1e-3;
  CHECK(schedule_factor(p, 0, 2, 10, lr) == 0.0);
  CHECK(schedule_factor(p, 1, 2, 10, lr) == doctest::Approx(0.5));
  CHECK(schedule_factor(p, 2, 2, 10, lr) == doctest::Approx(1.0));
  CHECK(schedule_factor(p, 6, 2, 10, lr) == doctest::Approx(0.325));  // (9e-4 * 0.5² + 1e-4) / 1e-3
  CHECK(schedule_factor(p, 10, 2, 10, lr) == doctest::Approx(0.1));
  CHECK(schedule_factor(p, 12, 2, 10, lr) == doctest::Approx(0.1));  // past the end: lr_end
  p.power = 1.0;
  CHECK(schedule_factor(p, 6, 2, 10, lr) == doctest::Approx(0.55));
  CHECK_THROWS_AS(check_schedule(p, 1e-4), ConfigError);  // lr_end must be below lr
  check_schedule(p, lr);
}

TEST_CASE("inverse square root") {
  auto s = sched("inverse_sqrt");
  CHECK(schedule_factor(s, 2, 4, 100, 1.0) == doctest::Approx(0.5));  // warmup
  CHECK(schedule_factor(s, 4, 4, 100, 1.0) == doctest::Approx(1.0));  // timescale = warmup
  CHECK(schedule_factor(s, 16, 4, 100, 1.0) == doctest::Approx(0.5));
  CHECK(schedule_factor(s, 36, 4, 100, 1.0) == doctest::Approx(1.0 / 3.0));
  CHECK(schedule_factor(s, 0, 0, 100, 1.0) == doctest::Approx(1.0));  // no warmup: timescale 10000
  CHECK(schedule_factor(s, 30000, 0, 100, 1.0) == doctest::Approx(0.5));
  s.timescale = 100;
  CHECK(schedule_factor(s, 300, 0, 1000, 1.0) == doctest::Approx(0.5));
}
