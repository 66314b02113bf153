#include <doctest/doctest.h>

#include <graft/core/json.h>
#include <graft/error.h>
#include <graft/options.h>
#include <graft/value.h>

using graft::Value;

TEST_CASE("Value keeps insertion order and round-trips JSON") {
  Value v = graft::core::parse_json(R"({"b": 1, "a": [true, null, 2.5, "x\"y"], "c": {"d": -3}})", "mem.json");
  CHECK(v.as_object()[0].first == "b");
  CHECK(v.at("a").as_array()[2].as_double() == 2.5);
  CHECK(v.at("c").get_int("d", 0) == -3);
  CHECK(v.dump_json() == R"({"b":1,"a":[true,null,2.5,"x\"y"],"c":{"d":-3}})");
}

TEST_CASE("Value type errors name the source") {
  Value v = graft::core::parse_json(R"({"n": "seven"})", "conf.json");
  CHECK_THROWS_WITH_AS(v.at("n").as_int(), "conf.json: expected integer, got string", graft::ConfigError);
  CHECK_THROWS_WITH_AS(v.at("missing"), "conf.json: missing key 'missing'", graft::ConfigError);
}

TEST_CASE("invalid JSON reports line and column") {
  CHECK_THROWS_AS(graft::core::parse_json("{\n  \"a\": 1,\n  oops\n}", "x.json"), graft::FormatError);
  try {
    graft::core::parse_json("{\n  \"a\": 1,\n  oops\n}", "x.json");
  } catch (const graft::FormatError& e) {
    CHECK(std::string(e.what()).rfind("x.json:3:", 0) == 0);
  }
}

TEST_CASE("Diagnostics collect every problem with dotted paths") {
  graft::Diagnostics d;
  auto c = d.child("tasks[0]", {"r.toml", 3, 1}).child("head", {"r.toml", 4, 9});
  c.error("dropout", "expected a number between 0 and 1, got 2");
  d.error("run.seed", "expected integer, got string", {"r.toml", 2, 8});
  REQUIRE(d.count() == 2);
  CHECK(d.items()[0].path == "tasks[0].head.dropout");
  CHECK(d.items()[0].loc.str() == "r.toml:4:9");
  CHECK(d.format() == "  r.toml:4:9  tasks[0].head.dropout: expected a number between 0 and 1, got 2\n"
                      "  r.toml:2:8  run.seed: expected integer, got string\n");
}
