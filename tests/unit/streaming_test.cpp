// Streaming data sets: a file bigger than the buffer streams with bounded memory, every record
// exactly once per epoch, deterministic seeded order, disjoint shards, exact resume.
#include "trainer_fakes.h"
#include "test_support.h"

#include <graft/core/files.h>
#include <graft/core/streaming.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <set>

using namespace graft;
using namespace graft::core;

namespace {

std::shared_ptr<test::FakeProcessor> proc() {
  auto p = std::make_shared<test::FakeProcessor>();
  p->label_list = {"neg", "pos"};
  p->data.on_error = "skip";
  p->set_task("t");
  return p;
}

std::vector<std::string> drain(StreamingDataset& s, size_t batch = 7) {
  std::vector<std::string> ids;
  for (auto b = s.next(batch); !b.empty(); b = s.next(batch))
    for (const auto& x : b) {
      REQUIRE(x.samples.size() == 1);  // featurized
      ids.push_back(x.id);
    }
  return ids;
}

}  // namespace

TEST_CASE("a file 20x the buffer: bounded memory, each record once, seeded order, original file:line") {
  auto dir = test::temp_dir("stream");
  test::write_toy_tsv(dir + "/big.tsv", 1000, 5);
  StreamOptions o;
  o.chunk_records = 50;
  o.seed = 9;
  o.threads = 2;
  StreamingDataset s(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
  CHECK(s.chunks() == 20);
  auto ids = drain(s);
  CHECK(ids.size() == 1000);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1000);
  CHECK(s.max_buffered() <= 50);
  CHECK(ids.front().rfind(dir + "/big.tsv:", 0) == 0);  // ids/locations name the original file and line
  // the order is shuffled, the same for the same seed and epoch, different across epochs
  std::vector<std::string> sorted_ids;
  for (int i = 1; i <= 1000; ++i) sorted_ids.push_back(cat(dir, "/big.tsv:", i));
  CHECK(ids != sorted_ids);
  StreamingDataset again(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
  CHECK(drain(again) == ids);
  s.start_epoch(1);
  auto e1 = drain(s);
  CHECK(e1 != ids);
  CHECK(std::set<std::string>(e1.begin(), e1.end()) == std::set<std::string>(ids.begin(), ids.end()));
  // without shuffling: file order
  o.shuffle = false;
  StreamingDataset plain(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
  CHECK(drain(plain) == sorted_ids);
}

TEST_CASE("shards are disjoint and cover the file") {
  auto dir = test::temp_dir("stream");
  test::write_toy_tsv(dir + "/big.tsv", 333, 6);
  std::set<std::string> all;
  size_t total = 0;
  for (int64_t r = 0; r < 3; ++r) {
    StreamOptions o;
    o.chunk_records = 20;
    o.num_shards = 3;
    o.shard_index = r;
    StreamingDataset s(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
    auto ids = drain(s);
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  CHECK(total == 333);
  CHECK(all.size() == 333);
  StreamOptions bad;
  bad.num_shards = 2;
  bad.shard_index = 2;
  CHECK_THROWS_AS(StreamingDataset(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), bad), ConfigError);
}

TEST_CASE("resume from a saved state gives exactly the rest of the epoch") {
  auto dir = test::temp_dir("stream");
  test::write_toy_tsv(dir + "/big.tsv", 500, 7);
  StreamOptions o;
  o.chunk_records = 64;
  o.seed = 3;
  StreamingDataset s(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
  s.start_epoch(2);
  auto full = drain(s, 10);
  for (size_t cut : {0u, 1u, 63u, 64u, 65u, 250u, 499u, 500u}) {
    CAPTURE(cut);
    StreamingDataset a(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
    a.start_epoch(2);
    std::vector<std::string> head;
    while (head.size() < cut) {
      auto b = a.next(std::min<size_t>(13, cut - head.size()));
      for (const auto& x : b) head.push_back(x.id);
    }
    // the state survives a round trip through a checkpoint's Value
    StreamState st = StreamState::from_value(a.state().to_value());
    CHECK(st == a.state());
    CHECK(st.emitted == static_cast<int64_t>(cut));
    StreamingDataset b(dir + "/big.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
    b.restore(st);
    auto rest = drain(b, 10);
    head.insert(head.end(), rest.begin(), rest.end());
    CHECK(head == full);
  }
  CHECK_THROWS_AS(StreamState::from_value(Value(3)), FormatError);
}

TEST_CASE("bad records are skipped and counted; blank-line separated records") {
  auto dir = test::temp_dir("stream");
  // 30 records + a bad one (no tab): counted as skipped (on_error = "skip")
  std::string text = "";
  for (int i = 0; i < 30; ++i) text += cat("good movie ", i, "\tpos\n");
  text += "no tab\n";
  write_file_atomic(dir + "/d.tsv", text);
  StreamOptions o;
  o.chunk_records = 8;
  StreamingDataset s(dir + "/d.tsv", proc(), std::make_shared<test::FakeTokenizer>(), o);
  auto ids = drain(s);
  CHECK(ids.size() == 30);
  CHECK(s.skipped() == 1);
  // blank-line records: chunk boundaries fall between blocks only
  write_file_atomic(dir + "/b.tsv", "a\tpos\nb\tneg\n\nc\tpos\n\n\nd\tneg\ne\tpos\n\nf\tneg\n");
  StreamOptions bo;
  bo.chunk_records = 2;
  bo.blank_line_records = true;
  bo.shuffle = false;
  StreamingDataset blocks(dir + "/b.tsv", proc(), std::make_shared<test::FakeTokenizer>(), bo);
  CHECK(blocks.chunks() == 2);  // 4 blocks of records, 2 per chunk
  auto bid = drain(blocks);
  CHECK(bid.size() == 6);
  CHECK(bid[2] == cat(dir, "/b.tsv:4"));
  CHECK(bid[5] == cat(dir, "/b.tsv:10"));
}
