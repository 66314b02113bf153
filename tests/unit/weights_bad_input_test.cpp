// Weight files that lie: safetensors headers with absurd lengths, non-object JSON, reversed or
// malformed offsets, holes, overflowing shapes; pytorch_model.bin files that are empty, zips
// without a state dict, or pickles with the wrong shape. Every case is a FormatError naming the
// file (and the tensor/field), never a crash or an allocation of the claimed size.
// (weights_io_test.cpp covers the common corruptions; hub_test.cpp the cache/download ones.)
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <caffe2/serialize/inline_container.h>

#include "test_support.h"

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string format_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a FormatError: " << e.what());
    return {};
  }
  FAIL("expected a FormatError");
  return {};
}

std::string le64(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return s;
}

std::string st_file(const std::string& name, const std::string& header, const std::string& data) {
  std::string path = test::temp_dir("badst") + "/" + name;
  std::ofstream(path, std::ios::binary) << le64(header.size()) << header << data;
  return path;
}

std::string archive(const std::string& name, const std::vector<std::pair<std::string, std::string>>& records) {
  std::string path = test::temp_dir("badbin") + "/" + name;
  caffe2::serialize::PyTorchStreamWriter w(path);
  for (const auto& [k, v] : records) w.writeRecord(k, v.data(), v.size());
  w.writeEndOfFile();
  return path;
}

}  // namespace

TEST_CASE("safetensors: absurd header lengths are refused before anything is allocated") {
  const std::string dir = test::temp_dir("badst");
  SUBCASE("2^64 - 1") {
    std::string p = dir + "/max.safetensors";
    std::ofstream(p, std::ios::binary) << le64(~uint64_t{0}) << "{}";
    auto m = format_error([&] { read_safetensors(p); });
    CHECK(contains(m, p));
    CHECK(contains(m, "header length 18446744073709551615 goes beyond the file size 10"));
  }
  SUBCASE("beyond the 100 MB limit, in a file that is large enough") {
    std::string p = dir + "/huge.safetensors";
    std::ofstream(p, std::ios::binary) << le64(150ull << 20) << "{";
    fs::resize_file(p, (150ull << 20) + 64);  // sparse
    auto m = format_error([&] { read_safetensors(p); });
    CHECK(contains(m, "100 MB safetensors limit"));
  }
  SUBCASE("zero and empty file") {
    std::string p = dir + "/zero.safetensors";
    std::ofstream(p, std::ios::binary) << le64(0);
    CHECK(contains(format_error([&] { read_safetensors(p); }), "not valid JSON"));
    std::string e = dir + "/empty.safetensors";
    std::ofstream(e, std::ios::binary).flush();
    CHECK(contains(format_error([&] { read_safetensors(e); }), "too short"));
  }
}

TEST_CASE("safetensors: headers that are not the expected JSON") {
  const std::string data8(8, '\0');
  struct Case {
    const char* name;
    std::string header;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"array", "[1, 2]", "header must be a JSON object"},
      {"binary", std::string("{\"w\":\xff\xfe}", 8), "not valid JSON"},
      {"entry_not_object", R"({"w": [0, 8]})", "tensor 'w' must be an object"},
      {"dtype_number", R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", "field 'dtype' must be a string"},
      {"shape_string", R"({"w":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", "field 'shape' must be an array"},
      {"shape_float", R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", "field 'shape' must be an array of non-negative integers"},
      {"shape_overflow", R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", "is too large"},
      {"offsets_reversed", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "[8, 0] out of range"},
      {"offsets_three", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", "must be [begin, end]"},
      {"offsets_negative", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", "must be [begin, end]"},
      {"offsets_past_end", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,18446744073709551615]}})",
       "out of range"},
      {"hole", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", "must have no holes"},
      {"metadata_not_object", R"({"__metadata__":"x","w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "\"__metadata__\" must be an object"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto p = st_file(std::string(c.name) + ".safetensors", c.header, data8);
    auto m = format_error([&] { read_safetensors(p); });
    CHECK(contains(m, p));
    CHECK_MESSAGE(contains(m, c.expected), m);
  }
}

TEST_CASE("pytorch_model.bin: empty files, zips without a state dict, pickles of the wrong shape") {
  const std::string dir = test::temp_dir("badbin");
  std::string empty = dir + "/empty.bin";
  std::ofstream(empty, std::ios::binary).flush();
  auto m0 = format_error([&] { read_pytorch_bin(empty); });
  CHECK(contains(m0, empty));
  CHECK(contains(m0, "not a zip archive"));

  auto no_pkl = archive("nopkl.bin", {{"something_else", "x"}});
  CHECK(contains(format_error([&] { read_pytorch_bin(no_pkl); }), "has no data.pkl"));

  // a list where the state dict should be
  auto list = archive("list.bin", {{"data.pkl", std::string("\x80\x02]q\x00.", 6)}});
  CHECK(contains(format_error([&] { read_pytorch_bin(list); }), "holds a list, expected a state dict"));

  // a storage class outside the allow-list
  using namespace std::string_literals;
  const std::string evil = "\x80\x02}(X\x01\x00\x00\x00w(X\x07\x00\x00\x00storagectorch\nFooStorage\n"s;
  auto bad_storage = archive("storage.bin", {{"data.pkl", evil}});
  CHECK(contains(format_error([&] { read_pytorch_bin(bad_storage); }), "'torch.FooStorage' is not allowed"));

  // two objects left on the stack at STOP
  auto two = archive("two.bin", {{"data.pkl", std::string("\x80\x02}}.", 5)}});
  CHECK(contains(format_error([&] { read_pytorch_bin(two); }), "STOP with 2 objects"));

  // random bytes after a zip signature
  std::string junk = dir + "/junk.bin";
  std::ofstream(junk, std::ios::binary) << "PK\x03\x04" << std::string(200, '\x7f');
  auto mj = format_error([&] { read_pytorch_bin(junk); });
  CHECK(contains(mj, junk));

  // read_weights dispatches on the name and reports the file
  CHECK(contains(format_error([&] { read_weights(dir + "/missing.safetensors"); }), dir + "/missing.safetensors"));
}
