// Loading tokenizers from HF model directories (tokenizer.json, or vocab.txt +
// tokenizer_config.json + special_tokens_map.json), building them from recipe options, and
// saving them so that HF AutoTokenizer loads the directory.
#include "pipeline.h"
#include "unicode.h"
#include "wordpiece.h"

#include <graft/core/files.h>
#include <graft/core/sentencepiece.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <filesystem>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace graft::core {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

void WordPieceOptions::visit(OptionVisitor& v) {
  v.optional("vocab", vocab,
             "vocab.txt (one token per line, id = line number from 0); relative to the model/recipe directory; "
             "empty = <model_dir>/vocab.txt");
  v.optional("lowercase", lowercase, "lower-case the text (HF do_lower_case)");
  v.optional("strip_accents", strip_accents,
             "remove accents (NFD, drop non-spacing marks): true | false; absent = same as lowercase (HF default)");
  v.optional("tokenize_chinese_chars", tokenize_chinese_chars, "put spaces around CJK ideographs");
  v.optional("clean_text", clean_text, "drop control characters and map whitespace to spaces");
  v.optional("unk_token", unk_token, "unknown-word token (must be in the vocab)");
  v.optional("cls_token", cls_token, "classifier token placed first (must be in the vocab)");
  v.optional("sep_token", sep_token, "separator token after each sequence (must be in the vocab)");
  v.optional("pad_token", pad_token, "padding token");
  v.optional("mask_token", mask_token, "mask token (masked language modeling)");
  v.optional("additional_special_tokens", additional_special_tokens,
             "more special tokens (in the vocab), matched whole in the text like [MASK]");
  v.optional("continuing_subword_prefix", continuing_subword_prefix, "prefix of word-continuation pieces");
  v.optional("max_input_chars_per_word", max_input_chars_per_word,
             "longer words (in characters, after normalization) become the unknown token", at_least(1));
}

void WordPieceOptions::check(Diagnostics& d) const {
  if (!strip_accents.is_null() && !strip_accents.is_bool())
    d.error("strip_accents", cat("expected a boolean (or leave it out to follow `lowercase`), got ",
                                 strip_accents.type_name()),
            strip_accents.location());
  if (unk_token.empty()) d.error("unk_token", "must not be empty");
}

namespace tok {
namespace {

json parse_json_file(const std::string& path) {
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

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool get_bool(const json& obj, const char* key, bool dflt, const std::string& path, const std::string& where) {
  const json* v = member(obj, key);
  if (!v || v->is_null()) return dflt;
  if (!v->is_boolean())
    throw FormatError(cat(path, ": field '", where, key, "' must be a boolean, got ", v->type_name()));
  return v->get<bool>();
}
int64_t get_int(const json& obj, const char* key, int64_t dflt, const std::string& path, const std::string& where) {
  const json* v = member(obj, key);
  if (!v || v->is_null()) return dflt;
  if (!v->is_number_integer())
    throw FormatError(cat(path, ": field '", where, key, "' must be an integer, got ", v->type_name()));
  return v->get<int64_t>();
}
std::string get_string(const json& obj, const char* key, const std::string& dflt, const std::string& path,
                       const std::string& where) {
  const json* v = member(obj, key);
  if (!v || v->is_null()) return dflt;
  if (!v->is_string())
    throw FormatError(cat(path, ": field '", where, key, "' must be a string, got ", v->type_name()));
  return v->get<std::string>();
}

// A special token in tokenizer_config.json / special_tokens_map.json: "…" or {"content": "…"}.
std::optional<std::string> token_field(const json& obj, const char* key, const std::string& path) {
  const json* v = member(obj, key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object() && member(*v, "content") && (*v)["content"].is_string()) return (*v)["content"].get<std::string>();
  throw FormatError(cat(path, ": field '", key, "' must be a string or an object with \"content\", got ", v->type_name()));
}

std::vector<std::string> token_list(const json& obj, const char* key, const std::string& path) {
  std::vector<std::string> out;
  const json* v = member(obj, key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) throw FormatError(cat(path, ": field '", key, "' must be an array, got ", v->type_name()));
  for (const auto& e : *v) {
    if (e.is_string())
      out.push_back(e.get<std::string>());
    else if (e.is_object() && member(e, "content") && e["content"].is_string())
      out.push_back(e["content"].get<std::string>());
    else
      throw FormatError(cat(path, ": field '", key, "' must hold strings, got ", e.type_name()));
  }
  return out;
}

// Role tokens and extra specials from tokenizer_config.json then special_tokens_map.json.
struct SpecialTokenFiles {
  json config = json::object();
  std::optional<std::string> unk, cls, sep, pad, mask;
  std::vector<std::string> additional;
};
SpecialTokenFiles read_special_token_files(const std::string& dir) {
  SpecialTokenFiles s;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    std::string path = (fs::path(dir) / name).string();
    if (!fs::exists(path)) continue;
    json j = parse_json_file(path);
    if (!j.is_object()) throw FormatError(cat(path, ": expected a JSON object, got ", j.type_name()));
    if (std::string(name) == "tokenizer_config.json") s.config = j;
    if (auto t = token_field(j, "unk_token", path)) s.unk = t;
    if (auto t = token_field(j, "cls_token", path)) s.cls = t;
    if (auto t = token_field(j, "sep_token", path)) s.sep = t;
    if (auto t = token_field(j, "pad_token", path)) s.pad = t;
    if (auto t = token_field(j, "mask_token", path)) s.mask = t;
    auto add = token_list(j, "additional_special_tokens", path);
    if (!add.empty()) s.additional = add;
  }
  return s;
}

std::string model_type_of(const json& model) {
  if (const json* t = member(model, "type"); t && t->is_string()) return t->get<std::string>();
  // Old serializations (e.g. bert-base-uncased) have no "type": infer it as the reference's
  // untagged deserialization does, from the fields.
  if (member(model, "merges")) return "BPE";
  if (const json* v = member(model, "vocab"); v && v->is_array()) return "Unigram";
  if (member(model, "continuing_subword_prefix") || member(model, "max_input_chars_per_word")) return "WordPiece";
  if (member(model, "vocab")) return "WordLevel";
  return "unknown";
}

}  // namespace

void read_vocab_txt(const std::string& path, WordPieceConfig& config) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const DataError& e) {
    throw FormatError(e.what());
  }
  config.vocab.clear();
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string tok = text.substr(pos, end - pos);
    if (!tok.empty() && tok.back() == '\r') tok.pop_back();
    try {
      check_utf8(tok, "the token");
    } catch (const DataError& e) {
      throw FormatError(cat(path, ":", line + 1, ": ", e.what()));
    }
    config.vocab.emplace_back(std::move(tok), static_cast<int64_t>(line));
    ++line;
    pos = end + 1;
  }
  if (config.vocab.empty()) throw FormatError(cat(path, ": the vocabulary file is empty"));
  config.source = path;
}

WordPieceConfig read_tokenizer_json(const std::string& path) {
  json j = parse_json_file(path);
  if (!j.is_object()) throw FormatError(cat(path, ": expected a JSON object, got ", j.type_name()));
  WordPieceConfig c;
  c.source = path;

  const json* model = member(j, "model");
  if (!model || !model->is_object()) throw FormatError(cat(path, ": missing object field 'model'"));
  std::string type = model_type_of(*model);
  if (type != "WordPiece")
    throw FormatError(cat(path, ": model type ", type,
                          " is not supported yet (graft reads WordPiece tokenizer.json files; BPE and Unigram "
                          "support is planned)"));
  const json* vocab = member(*model, "vocab");
  if (!vocab || !vocab->is_object())
    throw FormatError(cat(path, ": field 'model.vocab' must be an object mapping token to id"));
  c.vocab.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer())
      throw FormatError(cat(path, ": field 'model.vocab' entry '", it.key(), "' must be an integer id, got ",
                            it.value().type_name()));
    c.vocab.emplace_back(it.key(), it.value().get<int64_t>());
  }
  c.unk_token = get_string(*model, "unk_token", "[UNK]", path, "model.");
  c.continuing_subword_prefix = get_string(*model, "continuing_subword_prefix", "##", path, "model.");
  c.max_input_chars_per_word = get_int(*model, "max_input_chars_per_word", 100, path, "model.");

  // normalizer
  const json* norm = member(j, "normalizer");
  if (!norm || norm->is_null()) {
    c.has_normalizer = false;
  } else {
    std::string nt = get_string(*norm, "type", "", path, "normalizer.");
    if (nt != "BertNormalizer")
      throw FormatError(cat(path, ": normalizer type '", nt,
                            "' is not supported yet for WordPiece (supported: BertNormalizer or null)"));
    c.clean_text = get_bool(*norm, "clean_text", true, path, "normalizer.");
    c.handle_chinese_chars = get_bool(*norm, "handle_chinese_chars", true, path, "normalizer.");
    c.lowercase = get_bool(*norm, "lowercase", true, path, "normalizer.");
    if (const json* sa = member(*norm, "strip_accents"); sa && !sa->is_null()) {
      if (!sa->is_boolean())
        throw FormatError(cat(path, ": field 'normalizer.strip_accents' must be a boolean or null, got ",
                              sa->type_name()));
      c.strip_accents = sa->get<bool>();
    }
  }
  // pre-tokenizer
  const json* pre = member(j, "pre_tokenizer");
  if (!pre || pre->is_null()) {
    c.bert_pre_tokenizer = false;
  } else {
    std::string pt = get_string(*pre, "type", "", path, "pre_tokenizer.");
    if (pt != "BertPreTokenizer")
      throw FormatError(cat(path, ": pre_tokenizer type '", pt,
                            "' is not supported yet for WordPiece (supported: BertPreTokenizer or null)"));
  }
  // added tokens
  if (const json* added = member(j, "added_tokens"); added && !added->is_null()) {
    if (!added->is_array()) throw FormatError(cat(path, ": field 'added_tokens' must be an array"));
    size_t k = 0;
    for (const auto& a : *added) {
      std::string where = cat("added_tokens[", k++, "].");
      if (!a.is_object()) throw FormatError(cat(path, ": field '", where, "' must be an object"));
      AddedToken t;
      t.content = get_string(a, "content", "", path, where);
      if (t.content.empty()) throw FormatError(cat(path, ": field '", where, "content' is missing or empty"));
      t.id = get_int(a, "id", -1, path, where);
      t.special = get_bool(a, "special", false, path, where);
      t.single_word = get_bool(a, "single_word", false, path, where);
      t.lstrip = get_bool(a, "lstrip", false, path, where);
      t.rstrip = get_bool(a, "rstrip", false, path, where);
      t.normalized = get_bool(a, "normalized", !t.special, path, where);
      c.added_tokens.push_back(std::move(t));
    }
  }
  // post-processor
  const json* post = member(j, "post_processor");
  if (!post || post->is_null()) {
    c.has_post_processor = false;
  } else {
    std::string pt = get_string(*post, "type", "", path, "post_processor.");
    if (pt == "BertProcessing") {
      auto pair_of = [&](const char* key) -> std::pair<std::string, int64_t> {
        const json* v = member(*post, key);
        if (!v || !v->is_array() || v->size() != 2 || !(*v)[0].is_string() || !(*v)[1].is_number_integer())
          throw FormatError(cat(path, ": field 'post_processor.", key, "' must be [token, id]"));
        return {(*v)[0].get<std::string>(), (*v)[1].get<int64_t>()};
      };
      auto [cls, cls_id] = pair_of("cls");
      auto [sep, sep_id] = pair_of("sep");
      c.set_bert_template(cls, cls_id, sep, sep_id);
    } else if (pt == "TemplateProcessing") {
      auto pieces = [&](const char* key) {
        std::vector<TemplatePiece> out;
        const json* v = member(*post, key);
        if (!v || !v->is_array()) throw FormatError(cat(path, ": field 'post_processor.", key, "' must be an array"));
        size_t k = 0;
        for (const auto& p : *v) {
          std::string where = cat("post_processor.", key, "[", k++, "].");
          TemplatePiece tp;
          if (const json* s = member(p, "SpecialToken")) {
            tp.special = get_string(*s, "id", "", path, where + "SpecialToken.");
            tp.type_id = get_int(*s, "type_id", 0, path, where + "SpecialToken.");
          } else if (const json* s = member(p, "Sequence")) {
            tp.is_sequence = true;
            std::string id = get_string(*s, "id", "A", path, where + "Sequence.");
            if (id != "A" && id != "B")
              throw FormatError(cat(path, ": field '", where, "Sequence.id' must be \"A\" or \"B\", got \"", id, "\""));
            tp.sequence = id == "A" ? 0 : 1;
            tp.type_id = get_int(*s, "type_id", 0, path, where + "Sequence.");
          } else {
            throw FormatError(cat(path, ": field '", where, "' must be {\"SpecialToken\": …} or {\"Sequence\": …}"));
          }
          out.push_back(std::move(tp));
        }
        return out;
      };
      c.single = pieces("single");
      c.pair = pieces("pair");
      const json* st = member(*post, "special_tokens");
      if (st && !st->is_null()) {
        if (!st->is_object()) throw FormatError(cat(path, ": field 'post_processor.special_tokens' must be an object"));
        for (auto it = st->begin(); it != st->end(); ++it) {
          std::string where = cat("post_processor.special_tokens.", it.key(), ".");
          TemplateSpecial s;
          s.id = get_string(it.value(), "id", it.key(), path, where);
          const json* ids = member(it.value(), "ids");
          const json* toks = member(it.value(), "tokens");
          if (!ids || !ids->is_array() || !toks || !toks->is_array())
            throw FormatError(cat(path, ": field '", where, "' needs arrays 'ids' and 'tokens'"));
          for (const auto& x : *ids) {
            if (!x.is_number_integer()) throw FormatError(cat(path, ": field '", where, "ids' must hold integers"));
            s.ids.push_back(x.get<int64_t>());
          }
          for (const auto& x : *toks) {
            if (!x.is_string()) throw FormatError(cat(path, ": field '", where, "tokens' must hold strings"));
            s.tokens.push_back(x.get<std::string>());
          }
          c.special_tokens.push_back(std::move(s));
        }
      }
    } else {
      throw FormatError(cat(path, ": post_processor type '", pt,
                            "' is not supported yet for WordPiece (supported: TemplateProcessing, BertProcessing)"));
    }
  }
  // decoder
  const json* dec = member(j, "decoder");
  if (!dec || dec->is_null()) {
    c.has_decoder = false;
  } else {
    std::string dt = get_string(*dec, "type", "", path, "decoder.");
    if (dt != "WordPiece")
      throw FormatError(cat(path, ": decoder type '", dt, "' is not supported yet for WordPiece (supported: WordPiece)"));
    c.decoder_prefix = get_string(*dec, "prefix", "##", path, "decoder.");
    c.decoder_cleanup = get_bool(*dec, "cleanup", true, path, "decoder.");
  }
  return c;
}

WordPieceConfig config_from_options(const WordPieceOptions& o, const std::string& base_dir) {
  WordPieceConfig c;
  std::string vocab = o.vocab.empty() ? (fs::path(base_dir) / "vocab.txt").string() : resolve_path(base_dir, o.vocab);
  if (!fs::exists(vocab))
    throw FormatError(cat("wordpiece tokenizer: vocab file ", vocab, " does not exist",
                          o.vocab.empty() ? " (set [tokenizer] vocab = \"path/to/vocab.txt\")" : ""));
  read_vocab_txt(vocab, c);
  c.lowercase = o.lowercase;
  if (o.strip_accents.is_bool())
    c.strip_accents = o.strip_accents.as_bool();
  else if (!o.strip_accents.is_null())
    throw ConfigError(cat("wordpiece tokenizer: strip_accents must be a boolean, got ", o.strip_accents.type_name()));
  c.handle_chinese_chars = o.tokenize_chinese_chars;
  c.clean_text = o.clean_text;
  c.unk_token = o.unk_token;
  c.continuing_subword_prefix = o.continuing_subword_prefix;
  c.max_input_chars_per_word = o.max_input_chars_per_word;
  c.cls_token = o.cls_token;
  c.sep_token = o.sep_token;
  c.pad_token = o.pad_token;
  c.mask_token = o.mask_token;

  TokenMap ids;
  for (const auto& [t, id] : c.vocab) ids.insert_or_assign(t, id);
  auto id_of = [&](const std::string& t, const char* role, bool required) -> int64_t {
    auto it = ids.find(t);
    if (it != ids.end()) return it->second;
    if (required) throw FormatError(cat(vocab, ": the ", role, " '", t, "' is not in the vocabulary"));
    return -1;
  };
  id_of(o.unk_token, "unk_token", true);
  int64_t cls_id = id_of(o.cls_token, "cls_token", true);
  int64_t sep_id = id_of(o.sep_token, "sep_token", true);
  // The special tokens become added tokens (matched whole in the raw text), in id order as
  // BertTokenizerFast writes them.
  std::vector<std::string> specials = {o.pad_token, o.unk_token, o.cls_token, o.sep_token, o.mask_token};
  for (const auto& t : o.additional_special_tokens) specials.push_back(t);
  std::vector<AddedToken> added;
  for (const auto& t : specials) {
    if (t.empty()) continue;
    int64_t id = id_of(t, "special token", false);
    if (id < 0) {
      if (&t == &specials[0] || &t == &specials[4]) continue;  // no [PAD] / [MASK] in this vocab
      throw FormatError(cat(vocab, ": the additional special token '", t, "' is not in the vocabulary"));
    }
    bool dup = std::any_of(added.begin(), added.end(), [&](const AddedToken& a) { return a.content == t; });
    if (!dup) added.push_back(AddedToken{t, id, true, false, false, false, false});
  }
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  c.added_tokens = std::move(added);
  c.set_bert_template(o.cls_token, cls_id, o.sep_token, sep_id);
  c.decoder_prefix = o.continuing_subword_prefix;
  c.decoder_cleanup = true;
  return c;
}

}  // namespace tok

std::shared_ptr<Tokenizer> make_wordpiece(const WordPieceOptions& options, const std::string& base_dir) {
  return std::make_shared<tok::WordPieceTokenizer>(tok::config_from_options(options, base_dir));
}

std::shared_ptr<Tokenizer> load_tokenizer(const std::string& model_dir) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec))
    throw FormatError(cat(model_dir, ": not a directory (expected an HF model directory with tokenizer.json or vocab.txt)"));
  fs::path dir(model_dir);
  auto special = tok::read_special_token_files(model_dir);
  if (fs::exists(dir / "tokenizer.json")) {
    // BERT-layout WordPiece files take the (benchmarked) WordPiece fast path; every other
    // tokenizer.json runs through the generic pipeline (pipeline.cpp).
    json doc = tok::parse_json_file((dir / "tokenizer.json").string());
    if (!tok::is_bert_wordpiece_json(doc)) return tok::load_pipeline_dir(model_dir, std::move(doc));
    tok::WordPieceConfig c = tok::read_tokenizer_json((dir / "tokenizer.json").string());
    // As BertTokenizerFast does: tokenizer_config.json's do_lower_case / strip_accents /
    // tokenize_chinese_chars, when given, override the BertNormalizer's fields.
    if (c.has_normalizer) {
      const json& cfg = special.config;
      std::string cfg_path = (dir / "tokenizer_config.json").string();
      c.lowercase = tok::get_bool(cfg, "do_lower_case", c.lowercase, cfg_path, "");
      c.handle_chinese_chars = tok::get_bool(cfg, "tokenize_chinese_chars", c.handle_chinese_chars, cfg_path, "");
      if (const json* sa = tok::member(cfg, "strip_accents"); sa && !sa->is_null()) {
        if (!sa->is_boolean())
          throw FormatError(cat(cfg_path, ": field 'strip_accents' must be a boolean or null, got ", sa->type_name()));
        c.strip_accents = sa->get<bool>();
      } else if (sa) {
        c.strip_accents.reset();
      }
    }
    // Role tokens: tokenizer_config / special_tokens_map, else BERT's defaults when present.
    auto pick = [&](const std::optional<std::string>& from_files, const std::string& dflt) -> std::string {
      if (from_files) return *from_files;
      for (const auto& [t, id] : c.vocab)
        if (t == dflt) return dflt;
      for (const auto& a : c.added_tokens)
        if (a.content == dflt) return dflt;
      return "";
    };
    c.cls_token = pick(special.cls, "[CLS]");
    c.sep_token = pick(special.sep, "[SEP]");
    c.pad_token = pick(special.pad, "[PAD]");
    c.mask_token = pick(special.mask, "[MASK]");
    return std::make_shared<tok::WordPieceTokenizer>(std::move(c));
  }
  // SentencePiece models (XLM-R, ALBERT, CamemBERT) without tokenizer.json: sentencepiece.cpp.
  if (auto spm = load_sentencepiece_dir(model_dir)) return spm;
  if (fs::exists(dir / "vocab.txt")) {
    WordPieceOptions o;
    o.vocab = (dir / "vocab.txt").string();
    const json& cfg = special.config;
    std::string cfg_path = (dir / "tokenizer_config.json").string();
    o.lowercase = tok::get_bool(cfg, "do_lower_case", true, cfg_path, "");
    if (const json* sa = tok::member(cfg, "strip_accents"); sa && !sa->is_null()) {
      if (!sa->is_boolean())
        throw FormatError(cat(cfg_path, ": field 'strip_accents' must be a boolean or null, got ", sa->type_name()));
      o.strip_accents = Value(sa->get<bool>());
    }
    o.tokenize_chinese_chars = tok::get_bool(cfg, "tokenize_chinese_chars", true, cfg_path, "");
    if (special.unk) o.unk_token = *special.unk;
    if (special.cls) o.cls_token = *special.cls;
    if (special.sep) o.sep_token = *special.sep;
    if (special.pad) o.pad_token = *special.pad;
    if (special.mask) o.mask_token = *special.mask;
    o.additional_special_tokens = special.additional;
    tok::WordPieceConfig c = tok::config_from_options(o, model_dir);
    // added_tokens.json: user-added (non-special) tokens, matched on the normalized text.
    fs::path added_path = dir / "added_tokens.json";
    if (fs::exists(added_path)) {
      json a = tok::parse_json_file(added_path.string());
      if (!a.is_object()) throw FormatError(cat(added_path.string(), ": expected an object mapping token to id"));
      for (auto it = a.begin(); it != a.end(); ++it) {
        if (!it.value().is_number_integer())
          throw FormatError(cat(added_path.string(), ": entry '", it.key(), "' must be an integer id"));
        bool dup = false;
        for (const auto& t : c.added_tokens) dup = dup || t.content == it.key();
        if (!dup) c.added_tokens.push_back(tok::AddedToken{it.key(), it.value().get<int64_t>(), false, false, false, false, true});
      }
    }
    return std::make_shared<tok::WordPieceTokenizer>(std::move(c));
  }
  // RoBERTa / GPT-2 slow layout: byte-level BPE from vocab.json + merges.txt.
  if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt")) return tok::load_byte_level_bpe_dir(model_dir);
  if (fs::exists(dir / "vocab.json") || fs::exists(dir / "merges.txt"))
    throw FormatError(cat(model_dir, ": found ", fs::exists(dir / "vocab.json") ? "vocab.json without merges.txt"
                                                                                : "merges.txt without vocab.json",
                          " (a byte-level BPE tokenizer needs both, or a tokenizer.json)"));
  for (const char* other : {"sentencepiece.bpe.model", "spiece.model"})
    if (fs::exists(dir / other))
      throw FormatError(cat(model_dir, ": found ", other, " but this tokenizer type is not supported yet"));
  throw FormatError(cat(model_dir, ": no tokenizer files found (looked for tokenizer.json, vocab.txt, "
                                   "vocab.json + merges.txt and sentencepiece models)"));
}

void save_tokenizer(const Tokenizer& tokenizer, const std::string& dir) {
  if (save_sentencepiece(tokenizer, dir)) return;
  if (const auto* p = dynamic_cast<const tok::PipelineTokenizer*>(&tokenizer)) {
    tok::save_pipeline(*p, dir);
    return;
  }
  const auto* wp = dynamic_cast<const tok::WordPieceTokenizer*>(&tokenizer);
  if (!wp) throw ConfigError(cat("saving a '", tokenizer.kind(), "' tokenizer is not supported yet"));
  const tok::WordPieceConfig& c = wp->config();
  fs::create_directories(dir);
  fs::path d(dir);

  // vocab.txt: tokens in id order (gaps, which HF vocab.txt cannot express, get placeholders).
  std::vector<std::string> by_id;
  for (const auto& [t, id] : c.vocab) {
    if (static_cast<size_t>(id) >= by_id.size()) by_id.resize(static_cast<size_t>(id) + 1);
  }
  std::vector<uint8_t> set(by_id.size(), 0);
  for (const auto& [t, id] : c.vocab)
    if (!set[id]) {
      by_id[id] = t;
      set[id] = 1;
    }
  std::string vocab_txt;
  for (size_t i = 0; i < by_id.size(); ++i) {
    vocab_txt += set[i] ? by_id[i] : cat("[graft_unused_", i, "]");
    vocab_txt += '\n';
  }
  write_file_atomic((d / "vocab.txt").string(), vocab_txt);

  auto null_or = [](const std::optional<bool>& b) { return b ? ojson(*b) : ojson(nullptr); };
  // tokenizer.json
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ojson added = ojson::array();
  for (const auto& a : c.added_tokens)
    added.push_back(ojson{{"id", a.id}, {"content", a.content}, {"single_word", a.single_word}, {"lstrip", a.lstrip},
                          {"rstrip", a.rstrip}, {"normalized", a.normalized}, {"special", a.special}});
  j["added_tokens"] = added;
  if (c.has_normalizer)
    j["normalizer"] = ojson{{"type", "BertNormalizer"}, {"clean_text", c.clean_text},
                            {"handle_chinese_chars", c.handle_chinese_chars},
                            {"strip_accents", null_or(c.strip_accents)}, {"lowercase", c.lowercase}};
  else
    j["normalizer"] = nullptr;
  j["pre_tokenizer"] = c.bert_pre_tokenizer ? ojson{{"type", "BertPreTokenizer"}} : ojson(nullptr);
  if (c.has_post_processor) {
    auto pieces = [](const std::vector<tok::TemplatePiece>& ps) {
      ojson arr = ojson::array();
      for (const auto& p : ps) {
        if (p.is_sequence)
          arr.push_back(ojson{{"Sequence", ojson{{"id", p.sequence == 0 ? "A" : "B"}, {"type_id", p.type_id}}}});
        else
          arr.push_back(ojson{{"SpecialToken", ojson{{"id", p.special}, {"type_id", p.type_id}}}});
      }
      return arr;
    };
    ojson st = ojson::object();
    for (const auto& s : c.special_tokens) st[s.id] = ojson{{"id", s.id}, {"ids", s.ids}, {"tokens", s.tokens}};
    j["post_processor"] = ojson{{"type", "TemplateProcessing"}, {"single", pieces(c.single)}, {"pair", pieces(c.pair)},
                                {"special_tokens", st}};
  } else {
    j["post_processor"] = nullptr;
  }
  j["decoder"] = c.has_decoder ? ojson{{"type", "WordPiece"}, {"prefix", c.decoder_prefix}, {"cleanup", c.decoder_cleanup}}
                               : ojson(nullptr);
  ojson vocab = ojson::object();
  for (size_t i = 0; i < by_id.size(); ++i)
    if (set[i]) vocab[by_id[i]] = static_cast<int64_t>(i);
  j["model"] = ojson{{"type", "WordPiece"}, {"unk_token", c.unk_token},
                     {"continuing_subword_prefix", c.continuing_subword_prefix},
                     {"max_input_chars_per_word", c.max_input_chars_per_word}, {"vocab", vocab}};
  write_file_atomic((d / "tokenizer.json").string(), j.dump(2));

  // tokenizer_config.json + special_tokens_map.json (what BertTokenizer.save_pretrained writes).
  ojson map = ojson::object();
  auto put = [&](const char* key, const std::string& t) {
    if (!t.empty()) map[key] = t;
  };
  put("unk_token", c.unk_token);
  put("sep_token", c.sep_token);
  put("pad_token", c.pad_token);
  put("cls_token", c.cls_token);
  put("mask_token", c.mask_token);
  std::vector<std::string> additional;
  for (const auto& a : c.added_tokens)
    if (a.special && a.content != c.unk_token && a.content != c.sep_token && a.content != c.pad_token &&
        a.content != c.cls_token && a.content != c.mask_token)
      additional.push_back(a.content);
  if (!additional.empty()) map["additional_special_tokens"] = additional;
  ojson cfg = ojson::object();
  cfg["do_lower_case"] = c.has_normalizer ? c.lowercase : false;
  cfg["do_basic_tokenize"] = true;
  cfg["never_split"] = nullptr;
  for (auto it = map.begin(); it != map.end(); ++it) cfg[it.key()] = it.value();
  cfg["tokenize_chinese_chars"] = c.has_normalizer && c.handle_chinese_chars;
  cfg["strip_accents"] = null_or(c.strip_accents);
  cfg["tokenizer_class"] = "BertTokenizer";
  write_file_atomic((d / "tokenizer_config.json").string(), cfg.dump(2));
  write_file_atomic((d / "special_tokens_map.json").string(), map.dump(2));
}

void register_core_tokenizers(Registrar& r) {
  r.tokenizer<tok::WordPieceTokenizer, WordPieceOptions>(
      "wordpiece", "BERT WordPiece: BasicTokenizer normalization + greedy longest-match subwords (HF semantics)");
  r.tokenizer<tok::PipelineTokenizer, tok::ByteLevelBPEOptions>(
      "bpe", "byte-level BPE (RoBERTa, GPT-2) from vocab.json + merges.txt, HF tokenizers semantics");
  r.tokenizer<tok::PipelineTokenizer, tok::TokenizerJsonOptions>(
      "tokenizer_json", "any HF tokenizer.json: normalizer, pre-tokenizer, BPE/Unigram/WordPiece/WordLevel model, "
                        "post-processor, decoder");
  register_sentencepiece_tokenizer(r);
}

}  // namespace graft::core
