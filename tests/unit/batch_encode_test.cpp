// encode_batch / parallel_for: results in input order and equal to sequential encode() calls on
// any number of threads, windows kept, errors reported for the first failing input.
#include <doctest/doctest.h>

#include "test_support.h"

#include <graft/core/batch_encode.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <atomic>
#include <set>
#include <thread>

namespace {

std::vector<graft::TextInput> inputs(size_t n) {
  std::vector<graft::TextInput> v;
  for (size_t i = 0; i < n; ++i) {
    std::string t = graft::cat("Sentence ", i, " — café, 日本, [MASK] and ", std::string(i % 11, 'x'), " end.");
    if (i % 3 == 0)
      v.push_back(graft::TextInput::with_pair(t, graft::cat("pair text ", i * 7)));
    else
      v.push_back(graft::TextInput::single(t));
  }
  return v;
}

}  // namespace

TEST_CASE("parallel_for covers every index exactly once on any thread count") {
  for (int threads : {0, 1, 2, 3, 8}) {
    for (size_t n : {0u, 1u, 5u, 33u, 1000u}) {
      CAPTURE(threads);
      CAPTURE(n);
      std::vector<std::atomic<int>> hits(n);
      graft::core::parallel_for(
          n, threads,
          [&](size_t b, size_t e) {
            for (size_t i = b; i < e; ++i) hits[i]++;
          },
          7);
      for (size_t i = 0; i < n; ++i) REQUIRE(hits[i].load() == 1);
    }
  }
}

TEST_CASE("parallel_for uses several threads and rethrows the first failure") {
  std::set<std::thread::id> ids;
  std::mutex m;
  graft::core::parallel_for(
      64, 2,
      [&](size_t, size_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::lock_guard<std::mutex> lock(m);
        ids.insert(std::this_thread::get_id());
      },
      1);
  CHECK(ids.size() == 2);
  CHECK_THROWS_WITH_AS(graft::core::parallel_for(
                           100, 2,
                           [](size_t b, size_t) {
                             if (b >= 40) throw graft::DataError(graft::cat("block at ", b));
                           },
                           10),
                       "block at 40", graft::DataError);
}

TEST_CASE("encode_batch equals sequential encode, in input order, windows included") {
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/bert-base-cased"));
  auto in = inputs(300);
  graft::EncodeOptions o;
  o.max_length = 16;
  o.stride = 4;
  o.return_overflowing = true;
  std::vector<std::vector<graft::Encoding>> expected;
  for (const auto& x : in) expected.push_back(tok->encode(x, o));
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    auto got = graft::core::encode_batch(*tok, in, o, threads);
    REQUIRE(got.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      REQUIRE(got[i].size() == expected[i].size());
      for (size_t w = 0; w < got[i].size(); ++w) {
        CHECK(got[i][w].ids == expected[i][w].ids);
        CHECK(got[i][w].offsets == expected[i][w].offsets);
        CHECK(got[i][w].type_ids == expected[i][w].type_ids);
      }
    }
    auto first = graft::core::encode_batch_first(*tok, in, o, threads);
    REQUIRE(first.size() == in.size());
    for (size_t i = 0; i < in.size(); ++i) CHECK(first[i].ids == expected[i][0].ids);
  }
  CHECK(graft::core::encode_batch(*tok, {}, o, 2).empty());
}

TEST_CASE("encode_batch names the first failing input") {
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/bert-base-cased"));
  auto in = inputs(100);
  in[57] = graft::TextInput::single(std::string("bad \xFF utf-8"));
  in[80] = graft::TextInput::single(std::string("also bad \xC3"));
  CHECK_THROWS_WITH_AS(graft::core::encode_batch(*tok, in, {}, 2), doctest::Contains("input 57: "), graft::DataError);
  CHECK_THROWS_WITH_AS(graft::core::encode_batch(*tok, in, {}, 1), doctest::Contains("not valid UTF-8"),
                       graft::DataError);
}

TEST_CASE("encode_batch works with the SentencePiece tokenizers too") {
  auto tok = graft::core::load_tokenizer(graft::test::fixture("tokenizers/models/xlmr-style-spm"));
  auto in = inputs(120);
  auto got = graft::core::encode_batch_first(*tok, in, {}, 2);
  for (size_t i = 0; i < in.size(); ++i) CHECK(got[i].ids == tok->encode_one(in[i]).ids);
}
