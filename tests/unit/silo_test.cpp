// DataSilo: reading, bad-record policy, dev split, parallel featurization, statistics, batching.
#include "trainer_fakes.h"
#include "test_support.h"

#include <graft/core/data_silo.h>
#include <graft/core/files.h>
#include <graft/error.h>

#include <doctest/doctest.h>

using namespace graft;
using namespace graft::core;
using graft::test::FakeProcessor;
using graft::test::FakeTokenizer;

namespace {

std::shared_ptr<FakeProcessor> proc(const std::string& train, const std::string& on_error = "fail") {
  auto p = std::make_shared<FakeProcessor>();
  p->data.train = train;
  p->data.on_error = on_error;
  p->label_list = {"neg", "pos"};
  return p;
}

std::string what(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("train/dev/test are read relative to the base dir, featurized, with statistics") {
  auto dir = test::temp_dir("silo");
  test::write_toy_tsv(dir + "/train.tsv", 50, 1);
  test::write_toy_tsv(dir + "/test.tsv", 10, 2);
  auto p = proc("train.tsv");
  p->data.test = "test.tsv";
  p->data.dev_split = 0.2;
  DataSilo silo({{"sent", p}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir, 7, 3, true});
  const auto& t = silo.task("sent");
  CHECK(p->task() == "sent");
  CHECK(t.train.size() == 40);
  CHECK(t.dev.size() == 10);
  CHECK(t.test.size() == 10);
  for (const auto& b : t.train) REQUIRE(b.samples.size() == 1);
  const auto& st = t.stats.at("train");
  CHECK(st.baskets == 40);
  CHECK(st.samples == 40);
  CHECK(st.mean_tokens > 4.0);
  CHECK(st.max_tokens <= 16);
  CHECK(st.labels.at("neg") + st.labels.at("pos") == 40);
  CHECK(st.str().find("40 records") != std::string::npos);
  CHECK_THROWS_AS(silo.task("nope"), ConfigError);
}

TEST_CASE("dev split is seeded (and stratified on request)") {
  auto dir = test::temp_dir("silo");
  test::write_toy_tsv(dir + "/train.tsv", 101, 3);
  auto ids = [&](uint64_t seed, bool strat) {
    auto p = proc("train.tsv");
    p->data.dev_split = 0.3;
    p->data.dev_stratified = strat;
    DataSilo s({{"t", p}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir, static_cast<int64_t>(seed), 2, true});
    std::vector<std::string> out;
    for (const auto& b : s.task("t").dev) out.push_back(b.id);
    auto counts = s.task("t").stats.at("dev").labels;
    auto train_counts = s.task("t").stats.at("train").labels;
    return std::make_tuple(out, counts, train_counts);
  };
  auto [a, ca, ta] = ids(1, false);
  auto [b, cb, tb] = ids(1, false);
  auto [c, cc, tc] = ids(2, false);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a.size() == 30);
  auto [d, cd, td] = ids(1, true);
  // stratified: each label's share in dev ≈ its share in all data (rounded per label)
  for (const auto& [label, n] : cd) {
    double total = static_cast<double>(n + td.at(label));
    CHECK(std::abs(static_cast<double>(n) - 0.3 * total) <= 0.5 + 1e-9);
  }
}

TEST_CASE("bad records: on_error = fail lists file:line, skip counts them") {
  auto dir = test::temp_dir("silo");
  core::write_file_atomic(dir + "/train.tsv", "good movie\tpos\nno tab here\nBAD\tneg\nbad plot\tneg\nfine\tmaybe\n");
  std::string msg = what([&] { DataSilo({{"t", proc("train.tsv", "fail")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}); });
  CHECK(msg.find("train.tsv:2") != std::string::npos);
  CHECK(msg.find("expected 2 tab-separated columns") != std::string::npos);
  CHECK_THROWS_AS(DataSilo({{"t", proc("train.tsv", "fail")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}), DataError);

  DataSilo silo({{"t", proc("train.tsv", "skip")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir});
  const auto& t = silo.task("t");
  CHECK(t.train.size() == 2);
  CHECK(t.skipped == 3);  // no tab (read), BAD (featurize), unknown label "maybe" (featurize)

  // a featurization failure under "fail" names the line and the reason
  core::write_file_atomic(dir + "/train2.tsv", "good\tpos\nBAD\tneg\n");
  msg = what([&] { DataSilo({{"t", proc("train2.tsv")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}); });
  CHECK(msg.find("train2.tsv:2") != std::string::npos);
  CHECK(msg.find("cannot be featurized") != std::string::npos);
}

TEST_CASE("an empty training set, a missing file and a missing train option are clear errors") {
  auto dir = test::temp_dir("silo");
  core::write_file_atomic(dir + "/empty.tsv", "");
  std::string msg = what([&] { DataSilo({{"t", proc("empty.tsv")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}); });
  CHECK(msg.find("training set is empty") != std::string::npos);
  CHECK(msg.find("empty.tsv") != std::string::npos);
  core::write_file_atomic(dir + "/allbad.tsv", "x\ny\n");
  msg = what([&] { DataSilo({{"t", proc("allbad.tsv", "skip")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}); });
  CHECK(msg.find("2 bad records skipped") != std::string::npos);
  CHECK_THROWS_AS(DataSilo({{"t", proc("missing.tsv")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}), DataError);
  CHECK_THROWS_AS(DataSilo({{"t", proc("")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir}), ConfigError);
  // not required (evaluation/inference): fine
  DataSilo ok({{"t", proc("")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir, 42, 1, false});
  CHECK(ok.task("t").train.empty());
}

TEST_CASE("parallel featurization gives the same result as one thread, in order") {
  auto dir = test::temp_dir("silo");
  test::write_toy_tsv(dir + "/train.tsv", 700, 5);
  auto load = [&](int threads) {
    DataSilo s({{"t", proc("train.tsv")}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir, 1, threads, true});
    return s.task("t").train;
  };
  auto one = load(1), four = load(4);
  REQUIRE(one.size() == four.size());
  for (size_t i = 0; i < one.size(); ++i) {
    CHECK(one[i].id == four[i].id);
    CHECK(torch::equal(one[i].samples[0].features.at("input_ids"), four[i].samples[0].features.at("input_ids")));
  }
}

TEST_CASE("batches: padded to the longest in the batch, seeded shuffling, length sorting") {
  auto dir = test::temp_dir("silo");
  test::write_toy_tsv(dir + "/train.tsv", 23, 9);
  auto p = proc("train.tsv");
  DataSilo silo({{"t", p}}, std::make_shared<FakeTokenizer>(), SiloOptions{dir});
  const auto& train = silo.task("t").train;
  auto a = plan_batches(train, 5, true, 11), b = plan_batches(train, 5, true, 11), c = plan_batches(train, 5, true, 12);
  REQUIRE(a.size() == 5);
  CHECK(a.back().size() == 3);
  auto first_ids = [](const std::vector<BatchRows>& plan) {
    std::vector<std::string> v;
    for (const auto& r : plan[0]) v.push_back(r.first->id);
    return v;
  };
  CHECK(first_ids(a) == first_ids(b));
  CHECK(first_ids(a) != first_ids(c));
  Batch batch = collate_rows(a[0], *p, silo.tokenizer());
  int64_t longest = 0;
  for (const auto& r : a[0]) longest = std::max(longest, r.second->features.at("input_ids").size(0));
  CHECK(batch.at("input_ids").size(1) == longest);
  CHECK(batch.at("t/label_ids").size(0) == 5);
  CHECK(batch.baskets.size() == 5);
  CHECK(batch.baskets[0] == a[0][0].first);

  auto sorted = plan_batches(train, 4, false, 0, true);
  int64_t prev = 0;
  for (const auto& rows : sorted)
    for (const auto& r : rows) {
      CHECK(r.second->features.at("input_ids").size(0) >= prev);
      prev = r.second->features.at("input_ids").size(0);
    }
  CHECK_THROWS_AS(plan_batches(train, 0, false, 0), ConfigError);
}
