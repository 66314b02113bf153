// Loading and saving pipeline tokenizers: tokenizer.json (+ tokenizer_config.json overrides and
// role tokens), the RoBERTa/GPT-2 slow layout (vocab.json + merges.txt), recipe constructors.
#include "json_util.h"
#include "pipeline.h"
#include "unicode.h"

#include <graft/core/files.h>
#include <graft/error.h>

#include <algorithm>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace graft::core::tok {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

json parse_file(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(cat(path, ": invalid JSON: ", e.what()));
  }
}

/// A special token as tokenizer_config.json / special_tokens_map.json give it.
struct SpecialSpec {
  std::string content;
  bool lstrip = false, rstrip = false, single_word = false, normalized = true;
  bool has_flags = false;
};

struct ConfigFiles {
  json config = json::object();
  std::map<std::string, SpecialSpec> roles;  // "unk_token" → spec
  std::vector<std::string> additional;
};

ConfigFiles read_config_files(const std::string& dir) {
  ConfigFiles c;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    std::string path = (fs::path(dir) / name).string();
    if (!fs::exists(path)) continue;
    json j = parse_file(path);
    if (!j.is_object()) throw FormatError(cat(path, ": expected a JSON object, got ", j.type_name()));
    if (std::string(name) == "tokenizer_config.json") c.config = j;
    for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
      const json* v = jmember(j, key);
      if (!v || v->is_null()) continue;
      SpecialSpec s;
      if (v->is_string()) {
        s.content = v->get<std::string>();
      } else if (v->is_object() && jmember(*v, "content") && (*v)["content"].is_string()) {
        s.content = (*v)["content"].get<std::string>();
        s.lstrip = jbool(*v, "lstrip", false, path, cat(key, "."));
        s.rstrip = jbool(*v, "rstrip", false, path, cat(key, "."));
        s.single_word = jbool(*v, "single_word", false, path, cat(key, "."));
        s.normalized = jbool(*v, "normalized", true, path, cat(key, "."));
        s.has_flags = true;
      } else {
        throw FormatError(cat(path, ": field '", key, "' must be a string or an object with \"content\", got ",
                              v->type_name()));
      }
      c.roles[key] = s;
    }
    if (const json* a = jmember(j, "additional_special_tokens"); a && !a->is_null()) {
      if (!a->is_array()) throw FormatError(cat(path, ": field 'additional_special_tokens' must be an array"));
      c.additional.clear();
      for (const auto& e : *a) {
        if (e.is_string())
          c.additional.push_back(e.get<std::string>());
        else if (e.is_object() && jmember(e, "content") && e["content"].is_string())
          c.additional.push_back(e["content"].get<std::string>());
        else
          throw FormatError(cat(path, ": field 'additional_special_tokens' must hold strings"));
      }
    }
  }
  return c;
}

std::string role_of(const ConfigFiles& c, const char* key) {
  auto it = c.roles.find(key);
  return it == c.roles.end() ? std::string() : it->second.content;
}

void apply_config(PipelineTokenizer& t, const ConfigFiles& c, const std::string& dir) {
  std::string sep = role_of(c, "sep_token");
  if (sep.empty()) sep = role_of(c, "eos_token");
  std::string cls = role_of(c, "cls_token");
  if (cls.empty()) cls = role_of(c, "bos_token");
  auto known = [&](const std::string& s) { return s.empty() || t.token_to_id(s) >= 0 ? s : std::string(); };
  t.set_roles(known(role_of(c, "unk_token")), known(cls), known(sep), known(role_of(c, "pad_token")),
              known(role_of(c, "mask_token")));
  std::string cfg_path = (fs::path(dir) / "tokenizer_config.json").string();
  t.tokenizer_class = jstr(c.config, "tokenizer_class", "", cfg_path, "");
  if (const json* m = jmember(c.config, "model_max_length"); m && m->is_number_integer() && m->get<int64_t>() > 0 &&
                                                             m->get<int64_t>() < (int64_t{1} << 40))
    t.model_max_length = m->get<int64_t>();
}

std::string strip_fast(std::string cls) {
  if (cls.size() > 4 && cls.compare(cls.size() - 4, 4, "Fast") == 0) cls.resize(cls.size() - 4);
  return cls;
}

bool roberta_class(const std::string& cls) {
  std::string c = strip_fast(cls);
  return c == "RobertaTokenizer" || c == "BartTokenizer" || c == "LongformerTokenizer" || c == "BlenderbotTokenizer" ||
         c == "LEDTokenizer" || c == "MarkupLMTokenizer";
}

}  // namespace

bool is_bert_wordpiece_json(const json& doc) {
  const json* m = jmember(doc, "model");
  if (!m || !m->is_object()) return false;
  std::string type;
  if (const json* t = jmember(*m, "type"); t && t->is_string())
    type = t->get<std::string>();
  else if (!jmember(*m, "merges") && (jmember(*m, "continuing_subword_prefix") || jmember(*m, "max_input_chars_per_word")))
    type = "WordPiece";
  if (type != "WordPiece") return false;
  auto type_is = [&](const char* key, std::initializer_list<const char*> ok) {
    const json* v = jmember(doc, key);
    if (!v || v->is_null()) return true;
    if (!v->is_object() || !jmember(*v, "type") || !(*v)["type"].is_string()) return false;
    std::string t = (*v)["type"].get<std::string>();
    return std::any_of(ok.begin(), ok.end(), [&](const char* o) { return t == o; });
  };
  return type_is("normalizer", {"BertNormalizer"}) && type_is("pre_tokenizer", {"BertPreTokenizer"}) &&
         type_is("post_processor", {"BertProcessing", "TemplateProcessing"}) && type_is("decoder", {"WordPiece"});
}

std::shared_ptr<PipelineTokenizer> load_pipeline_dir(const std::string& dir, json doc) {
  ConfigFiles c = read_config_files(dir);
  std::string cfg_path = (fs::path(dir) / "tokenizer_config.json").string();
  // As RobertaTokenizerFast / GPT2TokenizerFast do: tokenizer_config.json's add_prefix_space and
  // trim_offsets, when given, replace those of the ByteLevel pre-tokenizer and post-processor.
  const json* aps = jmember(c.config, "add_prefix_space");
  const json* trim = jmember(c.config, "trim_offsets");
  if (aps && !aps->is_boolean()) throw FormatError(cat(cfg_path, ": field 'add_prefix_space' must be a boolean"));
  if (trim && !trim->is_boolean()) throw FormatError(cat(cfg_path, ": field 'trim_offsets' must be a boolean"));
  if (aps || trim) {
    auto is_type = [](const json& j, const char* t) {
      return j.is_object() && j.contains("type") && j["type"].is_string() && j["type"].get<std::string>() == t;
    };
    if (aps && doc.contains("pre_tokenizer") && is_type(doc["pre_tokenizer"], "ByteLevel"))
      doc["pre_tokenizer"]["add_prefix_space"] = aps->get<bool>();
    if (doc.contains("post_processor") &&
        (is_type(doc["post_processor"], "RobertaProcessing") || is_type(doc["post_processor"], "ByteLevel"))) {
      if (aps) doc["post_processor"]["add_prefix_space"] = aps->get<bool>();
      if (trim) doc["post_processor"]["trim_offsets"] = trim->get<bool>();
    }
  }
  auto t = std::make_shared<PipelineTokenizer>(std::move(doc), (fs::path(dir) / "tokenizer.json").string());
  apply_config(*t, c, dir);
  return t;
}

json byte_level_bpe_document(const std::string& vocab_json, const std::string& merges_txt, bool add_prefix_space,
                             bool trim_offsets, bool roberta, const std::vector<AddedToken>& added) {
  json vocab = parse_file(vocab_json);
  if (!vocab.is_object()) throw FormatError(cat(vocab_json, ": expected an object mapping token to id"));
  std::string text;
  try {
    text = read_file(merges_txt);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
  json merges = json::array();
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string l = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.empty() || l.rfind("#version", 0) == 0) continue;
    size_t sp = l.find(' ');
    if (sp == std::string::npos || l.find(' ', sp + 1) != std::string::npos)
      throw FormatError(cat(merges_txt, ":", line, ": expected two tokens separated by one space, got \"", l, "\""));
    if (find_invalid_utf8(l) >= 0) throw FormatError(cat(merges_txt, ":", line, ": not valid UTF-8"));
    merges.push_back(std::move(l));
  }
  json doc;
  doc["version"] = "1.0";
  doc["truncation"] = nullptr;
  doc["padding"] = nullptr;
  json at = json::array();
  for (const auto& a : added)
    at.push_back(json{{"id", a.id},          {"content", a.content},       {"single_word", a.single_word},
                      {"lstrip", a.lstrip}, {"rstrip", a.rstrip}, {"normalized", a.normalized}, {"special", a.special}});
  doc["added_tokens"] = at;
  doc["normalizer"] = nullptr;
  doc["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", trim_offsets},
                          {"use_regex", true}};
  doc["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  doc["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", ""},
                  {"end_of_word_suffix", ""},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", false},
                  {"vocab", std::move(vocab)},
                  {"merges", std::move(merges)}};
  doc["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space},
                           {"trim_offsets", trim_offsets}, {"use_regex", true}};
  (void)roberta;  // the caller sets a RobertaProcessing post-processor (it knows the role tokens)
  return doc;
}

namespace {

json slow_bpe_document(const std::string& vocab_json, const std::string& merges_txt, const ConfigFiles& c,
                       bool add_prefix_space, bool trim_offsets, bool roberta, const std::string& added_json) {
  json vocab = parse_file(vocab_json);
  auto vid = [&](const std::string& t) -> int64_t {
    const json* v = jmember(vocab, t.c_str());
    return v && v->is_number_integer() ? v->get<int64_t>() : -1;
  };
  int64_t next = 0;
  if (vocab.is_object())
    for (auto it = vocab.begin(); it != vocab.end(); ++it)
      if (it.value().is_number_integer()) next = std::max(next, it.value().get<int64_t>() + 1);
  std::vector<AddedToken> added;
  auto add = [&](const SpecialSpec& s, bool special, bool lstrip_default) {
    if (s.content.empty()) return;
    for (const auto& a : added)
      if (a.content == s.content) return;
    AddedToken t;
    t.content = s.content;
    t.id = vid(s.content);
    if (t.id < 0) t.id = next++;
    t.special = special;
    t.lstrip = s.has_flags ? s.lstrip : lstrip_default;
    t.rstrip = s.rstrip;
    t.single_word = s.single_word;
    t.normalized = s.has_flags ? s.normalized : !special;
    added.push_back(t);
  };
  std::map<std::string, SpecialSpec> roles = c.roles;
  if (roberta) {  // RobertaTokenizer's defaults
    auto dflt = [&](const char* k, const char* v) {
      if (!roles.count(k)) roles[k] = SpecialSpec{v};
    };
    dflt("bos_token", "<s>");
    dflt("eos_token", "</s>");
    dflt("sep_token", "</s>");
    dflt("cls_token", "<s>");
    dflt("unk_token", "<unk>");
    dflt("pad_token", "<pad>");
    dflt("mask_token", "<mask>");
  }
  for (const char* k : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    auto it = roles.find(k);
    if (it == roles.end()) continue;
    bool is_mask = std::string(k) == "mask_token";
    if (it->second.content.empty()) continue;
    add(it->second, true, roberta && is_mask);
  }
  for (const auto& a : c.additional) add(SpecialSpec{a}, true, false);
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  if (!added_json.empty() && fs::exists(added_json)) {
    json a = parse_file(added_json);
    if (!a.is_object()) throw FormatError(cat(added_json, ": expected an object mapping token to id"));
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (!it.value().is_number_integer())
        throw FormatError(cat(added_json, ": entry '", it.key(), "' must be an integer id"));
      bool dup = false;
      for (const auto& t : added) dup = dup || t.content == it.key();
      if (!dup) added.push_back(AddedToken{it.key(), it.value().get<int64_t>(), false, false, false, false, true});
    }
  }
  json doc = byte_level_bpe_document(vocab_json, merges_txt, add_prefix_space, trim_offsets, roberta, added);
  if (roberta) {
    std::string cls = roles.count("cls_token") ? roles["cls_token"].content : "<s>";
    std::string sep = roles.count("sep_token") ? roles["sep_token"].content : "</s>";
    int64_t cls_id = -1, sep_id = -1;
    for (const auto& a : added) {
      if (a.content == cls) cls_id = a.id;
      if (a.content == sep) sep_id = a.id;
    }
    if (cls_id < 0 || sep_id < 0)
      throw FormatError(cat(vocab_json, ": the RoBERTa special tokens '", cls, "' and '", sep, "' are needed"));
    doc["post_processor"] = {{"type", "RobertaProcessing"},
                             {"sep", json::array({sep, sep_id})},
                             {"cls", json::array({cls, cls_id})},
                             {"trim_offsets", trim_offsets},
                             {"add_prefix_space", add_prefix_space}};
  }
  return doc;
}

}  // namespace

std::shared_ptr<PipelineTokenizer> load_byte_level_bpe_dir(const std::string& dir) {
  ConfigFiles c = read_config_files(dir);
  std::string cfg_path = (fs::path(dir) / "tokenizer_config.json").string();
  bool aps = jbool(c.config, "add_prefix_space", false, cfg_path, "");
  bool trim = jbool(c.config, "trim_offsets", true, cfg_path, "");
  std::string cls = jstr(c.config, "tokenizer_class", "", cfg_path, "");
  bool roberta;
  if (!cls.empty()) {
    roberta = roberta_class(cls);
  } else {
    json vocab = parse_file((fs::path(dir) / "vocab.json").string());
    roberta = vocab.is_object() && vocab.contains("<s>") && vocab.contains("</s>");
  }
  json doc = slow_bpe_document((fs::path(dir) / "vocab.json").string(), (fs::path(dir) / "merges.txt").string(), c, aps,
                               trim, roberta, (fs::path(dir) / "added_tokens.json").string());
  auto t = std::make_shared<PipelineTokenizer>(std::move(doc), (fs::path(dir) / "vocab.json").string());
  apply_config(*t, c, dir);
  if (t->tokenizer_class.empty()) t->tokenizer_class = roberta ? "RobertaTokenizer" : "GPT2Tokenizer";
  return t;
}

void save_pipeline(const PipelineTokenizer& t, const std::string& dir) {
  fs::create_directories(dir);
  fs::path d(dir);
  const json& doc = t.document();
  write_file_atomic((d / "tokenizer.json").string(), doc.dump(2, ' ', false, json::error_handler_t::strict));

  bool byte_bpe = t.model_type() == "BPE" && t.has_byte_level();
  if (byte_bpe) {
    const json& model = doc["model"];
    // vocab.json in id order, merges.txt with the version header (RobertaTokenizer's files).
    std::vector<std::pair<int64_t, std::string>> byid;
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) byid.emplace_back(it.value().get<int64_t>(), it.key());
    std::sort(byid.begin(), byid.end());
    ojson vocab = ojson::object();
    for (const auto& [id, tok] : byid) vocab[tok] = id;
    write_file_atomic((d / "vocab.json").string(), vocab.dump());
    std::string merges = "#version: 0.2\n";
    for (const auto& m : model["merges"]) {
      if (m.is_string())
        merges += m.get<std::string>();
      else
        merges += m[0].get<std::string>() + " " + m[1].get<std::string>();
      merges += '\n';
    }
    write_file_atomic((d / "merges.txt").string(), merges);
  }
  ojson map = ojson::object();
  auto put = [&](const char* key, const char* role) {
    const std::string& v = t.role(role);
    if (!v.empty()) map[key] = v;
  };
  put("unk_token", "unk");
  put("sep_token", "sep");
  put("pad_token", "pad");
  put("cls_token", "cls");
  put("mask_token", "mask");
  if (!t.role("cls").empty() && byte_bpe) map["bos_token"] = t.role("cls");
  if (!t.role("sep").empty()) map["eos_token"] = t.role("sep");
  ojson cfg = ojson::object();
  std::string cls = t.tokenizer_class;
  if (cls.empty() && byte_bpe) {
    const json& post = doc["post_processor"];
    cls = post.is_object() && post.value("type", "") == "RobertaProcessing" ? "RobertaTokenizer" : "GPT2Tokenizer";
  }
  if (!cls.empty()) cfg["tokenizer_class"] = cls;
  if (t.model_max_length > 0) cfg["model_max_length"] = t.model_max_length;
  if (byte_bpe) {
    const json& pre = doc["pre_tokenizer"];
    if (pre.is_object() && pre.value("type", "") == "ByteLevel") cfg["add_prefix_space"] = pre.value("add_prefix_space", false);
    const json& post = doc["post_processor"];
    if (post.is_object() && post.contains("trim_offsets")) cfg["trim_offsets"] = post["trim_offsets"];
  }
  for (auto it = map.begin(); it != map.end(); ++it) cfg[it.key()] = it.value();
  write_file_atomic((d / "tokenizer_config.json").string(), cfg.dump(2));
  write_file_atomic((d / "special_tokens_map.json").string(), map.dump(2));
}

// ---------------------------------------------------------------------------------------------
void ByteLevelBPEOptions::visit(OptionVisitor& v) {
  v.optional("vocab", vocab, "vocab.json (token → id); relative to the model/recipe directory; empty = <model_dir>/vocab.json");
  v.optional("merges", merges, "merges.txt (one merge \"a b\" per line, by rank); empty = <model_dir>/merges.txt");
  v.optional("add_prefix_space", add_prefix_space, "add a space before the text so the first word is encoded like the others");
  v.optional("trim_offsets", trim_offsets, "leave the spaces out of the offsets of tokens that start with one");
  v.optional("template", template_, "special tokens: roberta (<s> A </s> </s> B </s>) or none",
             one_of({"roberta", "none"}));
}

void TokenizerJsonOptions::visit(OptionVisitor& v) {
  v.optional("path", path, "tokenizer.json (HF tokenizers format); empty = <model_dir>/tokenizer.json");
}

namespace {
json bpe_doc_from_options(const ByteLevelBPEOptions& o, const TokenizerContext& ctx) {
  std::string vocab = o.vocab.empty() ? (fs::path(ctx.model_dir) / "vocab.json").string() : resolve_path(ctx.model_dir, o.vocab);
  std::string merges =
      o.merges.empty() ? (fs::path(ctx.model_dir) / "merges.txt").string() : resolve_path(ctx.model_dir, o.merges);
  for (const auto& f : {vocab, merges})
    if (!fs::exists(f)) throw FormatError(cat("bpe tokenizer: ", f, " does not exist (set [tokenizer] vocab / merges)"));
  ConfigFiles c;
  if (!ctx.model_dir.empty() && fs::is_directory(ctx.model_dir)) c = read_config_files(ctx.model_dir);
  return slow_bpe_document(vocab, merges, c, o.add_prefix_space, o.trim_offsets, o.template_ == "roberta", "");
}
json json_doc_from_options(const TokenizerJsonOptions& o, const TokenizerContext& ctx) {
  std::string path = o.path.empty() ? (fs::path(ctx.model_dir) / "tokenizer.json").string() : resolve_path(ctx.model_dir, o.path);
  if (!fs::exists(path)) throw FormatError(cat("tokenizer_json tokenizer: ", path, " does not exist (set [tokenizer] path)"));
  return parse_file(path);
}
}  // namespace

PipelineTokenizer::PipelineTokenizer(const ByteLevelBPEOptions& o, const TokenizerContext& ctx)
    : PipelineTokenizer(bpe_doc_from_options(o, ctx), o.vocab.empty() ? "vocab.json" : o.vocab) {
  set_roles("", "", "", "", "");
  tokenizer_class = o.template_ == "roberta" ? "RobertaTokenizer" : "GPT2Tokenizer";
}

PipelineTokenizer::PipelineTokenizer(const TokenizerJsonOptions& o, const TokenizerContext& ctx)
    : PipelineTokenizer(json_doc_from_options(o, ctx), o.path.empty() ? "tokenizer.json" : o.path) {}

}  // namespace graft::core::tok
