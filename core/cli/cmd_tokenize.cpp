// graft tokenize DIR --jsonl FILE [--out FILE] | --text T...: runs a model directory's tokenizer
// on cases in the tokenizer-fixture shape ({"case", "input": {"text", "text_pair"} | {"words"},
// "options": {"encoding", "truncation", "decode"}}) and writes one JSON line per case.
#include "cli.h"

#include <graft/core/hub.h>
#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;
using json = nlohmann::json;

namespace {

struct CaseReader {
  std::string file;
  size_t line = 0;

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw graft::DataError(graft::cat(file, ":", line, ": field '", field, "' ", what));
  }
  const json* get(const json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  bool boolean(const json& obj, const char* key, bool dflt, const std::string& where) const {
    const json* v = get(obj, key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail(where + key, graft::cat("must be a boolean, got ", v->type_name()));
    return v->get<bool>();
  }
  int64_t integer(const json& obj, const char* key, int64_t dflt, const std::string& where) const {
    const json* v = get(obj, key);
    if (!v) return dflt;
    if (!v->is_number_integer()) fail(where + key, graft::cat("must be an integer, got ", v->type_name()));
    return v->get<int64_t>();
  }
  std::string string(const json& obj, const char* key, const std::string& dflt, const std::string& where) const {
    const json* v = get(obj, key);
    if (!v) return dflt;
    if (!v->is_string()) fail(where + key, graft::cat("must be a string, got ", v->type_name()));
    return v->get<std::string>();
  }

  graft::TextInput input(const json& c) const {
    const json* in = get(c, "input");
    if (!in || !in->is_object()) fail("input", "is missing (expected {\"text\"[, \"text_pair\"]} or {\"words\"})");
    graft::TextInput t;
    if (const json* w = get(*in, "words")) {
      if (!w->is_array()) fail("input.words", graft::cat("must be an array of strings, got ", w->type_name()));
      for (const auto& x : *w) {
        if (!x.is_string()) fail("input.words", "must hold only strings");
        t.words.push_back(x.get<std::string>());
      }
      if (const json* pw = get(*in, "pair_words")) {
        if (!pw->is_array()) fail("input.pair_words", "must be an array of strings");
        for (const auto& x : *pw) {
          if (!x.is_string()) fail("input.pair_words", "must hold only strings");
          t.pair_words.push_back(x.get<std::string>());
        }
      }
      return t;
    }
    if (!get(*in, "text")) fail("input.text", "is missing (expected {\"text\"[, \"text_pair\"]} or {\"words\"})");
    t.text = string(*in, "text", "", "input.");
    if (get(*in, "text_pair")) t.pair = string(*in, "text_pair", "", "input.");
    return t;
  }

  graft::EncodeOptions truncation(const json& t) const {
    const std::string w = "options.truncation.";
    graft::EncodeOptions o;
    o.add_special_tokens = boolean(t, "add_special_tokens", true, w);
    std::string s = string(t, "truncation", "longest_first", w);
    if (s == "longest_first") o.truncation = graft::Truncation::longest_first;
    else if (s == "only_first") o.truncation = graft::Truncation::only_first;
    else if (s == "only_second") o.truncation = graft::Truncation::only_second;
    else if (s == "do_not_truncate") o.truncation = graft::Truncation::none;
    else fail(w + "truncation", graft::cat("must be longest_first, only_first, only_second or do_not_truncate, got \"", s, "\""));
    o.max_length = integer(t, "max_length", 0, w);
    if (o.max_length < 0) fail(w + "max_length", "must be >= 0");
    o.stride = integer(t, "stride", 0, w);
    if (o.stride < 0) fail(w + "stride", "must be >= 0");
    std::string d = string(t, "direction", "right", w);
    if (d != "right" && d != "left") fail(w + "direction", graft::cat("must be right or left, got \"", d, "\""));
    o.direction = d == "left" ? graft::Direction::left : graft::Direction::right;
    o.return_overflowing = boolean(t, "return_overflowing_tokens", false, w);
    return o;
  }
};

json encoding_json(const graft::Encoding& e, bool with_tokens) {
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
  j["attention_mask"] = std::vector<int>(e.ids.size(), 1);
  return j;
}

json run_case(const graft::Tokenizer& tok, const json& c, const CaseReader& r) {
  if (!c.is_object()) r.fail("(line)", graft::cat("must be a JSON object, got ", c.type_name()));
  json out;
  out["case"] = c.contains("case") ? c["case"] : json(graft::cat("line-", r.line));
  graft::TextInput in = r.input(c);
  json empty = json::object();
  const json* opts = r.get(c, "options");
  if (opts && !opts->is_object()) r.fail("options", "must be an object");
  if (!opts) opts = &empty;

  graft::EncodeOptions eo;
  if (const json* e = r.get(*opts, "encoding")) {
    if (!e->is_object()) r.fail("options.encoding", "must be an object");
    eo.add_special_tokens = r.boolean(*e, "add_special_tokens", true, "options.encoding.");
  }
  std::vector<graft::Encoding> enc;
  try {
    enc = tok.encode(in, eo);
  } catch (const graft::DataError& e) {
    throw graft::DataError(graft::cat(r.file, ":", r.line, ": ", e.what()));
  }
  out["encoding"] = encoding_json(enc.at(0), true);

  if (const json* t = r.get(*opts, "truncation")) {
    if (!t->is_object()) r.fail("options.truncation", "must be an object");
    graft::EncodeOptions to = r.truncation(*t);
    try {
      auto windows = tok.encode(in, to);
      json tj;
      tj["num_encodings"] = windows.size();
      tj["overflow_to_sample_mapping"] = std::vector<int>(windows.size(), 0);
      tj["encodings"] = json::array();
      for (const auto& w : windows) tj["encodings"].push_back(encoding_json(w, false));
      out["truncation"] = tj;
    } catch (const graft::core::TruncationError& e) {
      out["truncation"] = json{{"error", e.kind()}, {"message", e.what()}};
    }
  }

  bool skip = true;
  std::vector<int64_t> ids = enc.at(0).ids;
  if (const json* d = r.get(*opts, "decode")) {
    if (!d->is_object()) r.fail("options.decode", "must be an object");
    skip = r.boolean(*d, "skip_special_tokens", true, "options.decode.");
    if (const json* x = r.get(*d, "ids"); x && x->is_array()) {
      ids.clear();
      for (const auto& v : *x) {
        if (!v.is_number_integer()) r.fail("options.decode.ids", "must hold integers (or name expected.encoding.ids)");
        ids.push_back(v.get<int64_t>());
      }
    }
  }
  std::string text = tok.decode(ids, skip);
  out["decode"] = json{{"text", text}, {"text_clean_up_tokenization_spaces", graft::core::clean_up_tokenization(text)}};
  return out;
}

int cmd_tokenize(graft::cli::CliContext&, const std::vector<std::string>& args) {
  po::options_description opts("graft tokenize DIR (--jsonl FILE [--out FILE] | --text TEXT...)");
  opts.add_options()("help,h", "this text")
      ("dir", po::value<std::string>(),
       "HF model directory (tokenizer.json, vocab.txt, vocab.json + merges.txt, or sentencepiece.bpe.model / "
       "spiece.model; + tokenizer_config.json)")
      ("jsonl", po::value<std::string>(), "cases, one JSON object per line: {\"case\", \"input\": {\"text\", \"text_pair\"} | {\"words\"}, \"options\": {\"encoding\", \"truncation\", \"decode\"}}")
      ("out", po::value<std::string>(), "write the results here (default: stdout)")
      ("text", po::value<std::vector<std::string>>(), "tokenize this text and print tokens, ids and offsets (repeatable)");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw graft::ConfigError(graft::cat("tokenize: ", e.what(), " (see graft tokenize --help)"));
  }
  if (vm.count("help")) {
    std::cout << opts << "\nOne output line per case: {\"case\", \"encoding\", \"truncation\", \"decode\"} with the fields "
                         "of the tokenizer fixtures' `expected` (offsets_utf8 are UTF-8 byte ranges); a refused "
                         "truncation is {\"error\": \"SequenceTooShort\"|\"StrideTooLarge\", \"message\"}.\n";
    return 0;
  }
  if (!vm.count("dir")) throw graft::ConfigError("tokenize: missing model directory (usage: graft tokenize DIR --jsonl FILE)");
  if (!vm.count("jsonl") && !vm.count("text"))
    throw graft::ConfigError("tokenize: give --jsonl FILE or --text TEXT (see graft tokenize --help)");
  auto tok = graft::core::load_tokenizer(graft::core::hub::resolve_if_hub_id(vm["dir"].as<std::string>()));

  std::ostringstream result;
  if (vm.count("text")) {
    for (const auto& t : vm["text"].as<std::vector<std::string>>()) {
      auto e = tok->encode_one(graft::TextInput::single(t));
      json j = encoding_json(e, true);
      j["text"] = t;
      result << j.dump() << "\n";
    }
  }
  if (vm.count("jsonl")) {
    CaseReader r;
    r.file = vm["jsonl"].as<std::string>();
    std::string content = graft::core::read_file(r.file);
    std::istringstream in(content);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      ++r.line;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json c;
      try {
        c = json::parse(line);
      } catch (const json::exception& e) {
        throw graft::DataError(graft::cat(r.file, ":", r.line, ": invalid JSON: ", e.what()));
      }
      result << run_case(*tok, c, r).dump() << "\n";
      ++n;
    }
    if (n == 0) throw graft::DataError(graft::cat(r.file, ": no cases (expected one JSON object per line)"));
  }
  if (vm.count("out"))
    graft::core::write_file_atomic(vm["out"].as<std::string>(), result.str());
  else
    std::cout << result.str();
  return 0;
}

}  // namespace

GRAFT_CLI_COMMAND("tokenize", "run a model directory's tokenizer on texts or JSONL cases", cmd_tokenize);
