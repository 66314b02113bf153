#pragma once
// Reading and checking the golden tokenizer fixtures (../shared/fixtures/tokenizers/*.jsonl
// format; README there). Shared by the tokenizer tests.
#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/tokenizer.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace tokfix {

using json = nlohmann::json;

inline std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(graft::core::read_file(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

inline graft::TextInput input_of(const json& c) {
  const json& in = c.at("input");
  graft::TextInput t;
  if (in.contains("words")) {
    t.words = in.at("words").get<std::vector<std::string>>();
  } else {
    t.text = in.at("text").get<std::string>();
    if (in.contains("text_pair")) t.pair = in.at("text_pair").get<std::string>();
  }
  return t;
}

inline graft::EncodeOptions encoding_options(const json& c) {
  graft::EncodeOptions o;
  o.add_special_tokens = c.at("options").at("encoding").value("add_special_tokens", true);
  return o;
}

inline graft::EncodeOptions truncation_options(const json& c) {
  const json& t = c.at("options").at("truncation");
  graft::EncodeOptions o;
  o.add_special_tokens = t.value("add_special_tokens", true);
  std::string s = t.value("truncation", "longest_first");
  o.truncation = s == "only_first"    ? graft::Truncation::only_first
                 : s == "only_second" ? graft::Truncation::only_second
                                      : graft::Truncation::longest_first;
  o.max_length = t.value("max_length", 0);
  o.stride = t.value("stride", 0);
  o.direction = t.value("direction", "right") == "left" ? graft::Direction::left : graft::Direction::right;
  o.return_overflowing = t.value("return_overflowing_tokens", false);
  return o;
}

/// The fixture's JSON shape of one encoding (null for -1 word/sequence ids).
inline json encoding_json(const graft::Encoding& e, bool with_tokens = true) {
  auto nullable = [](const std::vector<int64_t>& v) {
    json a = json::array();
    for (auto x : v) a.push_back(x < 0 ? json(nullptr) : json(x));
    return a;
  };
  json j;
  j["ids"] = e.ids;
  if (with_tokens) j["tokens"] = e.tokens;
  json offs = json::array();
  for (auto [b, en] : e.offsets) offs.push_back(json::array({b, en}));
  j["offsets_utf8"] = offs;
  j["word_ids"] = nullable(e.word_ids);
  j["type_ids"] = e.type_ids;
  j["sequence_ids"] = nullable(e.sequence_ids);
  std::vector<int> mask(e.special_tokens_mask.begin(), e.special_tokens_mask.end());
  j["special_tokens_mask"] = mask;
  return j;
}

/// "" when `actual` has every field of `expected` (among the compared ones) equal.
inline std::string compare_encoding(const json& expected, const json& actual, const std::string& what) {
  for (const char* f : {"ids", "tokens", "offsets_utf8", "word_ids", "type_ids", "sequence_ids", "special_tokens_mask"}) {
    if (!expected.contains(f)) continue;
    if (!actual.contains(f)) return what + ": missing " + f;
    if (expected.at(f) != actual.at(f))
      return what + "." + f + ": expected " + expected.at(f).dump() + "\n     got " + actual.at(f).dump();
  }
  return "";
}

/// What `graft tokenize` writes for one case: encoding, truncation windows (or error), decode.
inline json run_case(const graft::Tokenizer& tok, const json& c) {
  json out;
  out["case"] = c.at("case");
  graft::TextInput in = input_of(c);
  auto enc = tok.encode(in, encoding_options(c));
  out["encoding"] = encoding_json(enc.at(0));
  try {
    auto windows = tok.encode(in, truncation_options(c));
    json t;
    t["num_encodings"] = windows.size();
    t["encodings"] = json::array();
    for (const auto& w : windows) t["encodings"].push_back(encoding_json(w, false));
    out["truncation"] = t;
  } catch (const graft::core::TruncationError& e) {
    out["truncation"] = json{{"error", e.kind()}, {"message", e.what()}};
  }
  bool skip = c.at("options").at("decode").value("skip_special_tokens", true);
  std::string text = tok.decode(enc.at(0).ids, skip);
  out["decode"] = json{{"text", text}, {"text_clean_up_tokenization_spaces", graft::core::clean_up_tokenization(text)}};
  return out;
}

/// Compares a run_case()-shaped result with the case's `expected`; "" on a full match.
inline std::string compare_case(const json& c, const json& got) {
  const json& ex = c.at("expected");
  std::string id = c.at("case").get<std::string>();
  if (auto d = compare_encoding(ex.at("encoding"), got.at("encoding"), id + " encoding"); !d.empty()) return d;
  const json& et = ex.at("truncation");
  const json& gt = got.at("truncation");
  if (et.contains("error")) {
    if (!gt.contains("error")) return id + " truncation: expected error " + et.at("error").dump() + ", got windows";
    if (et.at("error") != gt.at("error"))
      return id + " truncation: expected error " + et.at("error").dump() + ", got " + gt.at("error").dump();
  } else {
    if (gt.contains("error")) return id + " truncation: unexpected error " + gt.dump();
    const auto& ew = et.at("encodings");
    const auto& gw = gt.at("encodings");
    if (ew.size() != gw.size())
      return id + " truncation: expected " + std::to_string(ew.size()) + " windows, got " + std::to_string(gw.size());
    for (size_t i = 0; i < ew.size(); ++i)
      if (auto d = compare_encoding(ew[i], gw[i], id + " window " + std::to_string(i)); !d.empty()) return d;
  }
  for (const char* f : {"text", "text_clean_up_tokenization_spaces"})
    if (ex.at("decode").at(f) != got.at("decode").at(f))
      return id + " decode." + f + ": expected " + ex.at("decode").at(f).dump() + "\n     got " +
             got.at("decode").at(f).dump();
  return "";
}

}  // namespace tokfix
