#include "squad_processor.h"

#include <graft/error.h>
#include <graft/log.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace graft::plugins::question_answering {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::vector<int64_t> code_point_bytes(const std::string& s) {
  std::vector<int64_t> out;
  out.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(static_cast<int64_t>(i));
  out.push_back(static_cast<int64_t>(s.size()));
  return out;
}

int64_t chars_before(const std::string& s, int64_t byte) {
  int64_t n = 0;
  for (int64_t i = 0; i < byte && i < static_cast<int64_t>(s.size()); ++i)
    if ((static_cast<unsigned char>(s[static_cast<size_t>(i)]) & 0xC0) != 0x80) ++n;
  return n;
}

namespace {

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::string strip(const std::string& s) {
  // Python str.strip() for the ASCII whitespace SQuAD answers carry
  size_t b = s.find_first_not_of(" \t\r\n\v\f");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n\v\f");
  return s.substr(b, e - b + 1);
}

std::string shorten(const std::string& s, size_t max = 60) { return s.size() <= max ? s : s.substr(0, max) + "..."; }

/// Validates and converts one question. Returns false (and records a problem) for a bad one.
struct QuestionIn {
  std::string id, question, context, version, title;
  json answers;  // array of {"text", "answer_start"} or null
  bool is_impossible = false;
  SourceLocation loc;
};

bool make_basket(const QuestionIn& q, Basket& b, std::vector<RecordProblem>& problems) {
  auto problem = [&](std::string m) {
    problems.push_back(RecordProblem{q.loc, cat("question '", q.id, "': ", std::move(m))});
    return false;
  };
  if (is_blank(q.context)) return problem("empty context");
  if (is_blank(q.question)) return problem("empty question");
  const std::vector<int64_t> cps = code_point_bytes(q.context);
  const int64_t n_chars = static_cast<int64_t>(cps.size()) - 1;
  Value answers = Value::array();
  if (!q.is_impossible && !q.answers.is_null()) {
    if (!q.answers.is_array()) return problem("\"answers\" must be an array");
    for (const auto& a : q.answers) {
      if (!a.is_object() || !a.contains("text") || !a["text"].is_string())
        return problem("every answer needs a \"text\" string");
      const std::string text = a["text"].get<std::string>();
      if (!a.contains("answer_start") || !a["answer_start"].is_number_integer())
        return problem(cat("answer '", shorten(text), "' has no integer \"answer_start\""));
      const int64_t start = a["answer_start"].get<int64_t>();
      const int64_t len = static_cast<int64_t>(code_point_bytes(text).size()) - 1;
      if (text.empty()) return problem("empty answer text");
      if (start < 0 || start + len > n_chars)
        return problem(cat("answer '", shorten(text), "' at answer_start ", start, " is beyond the context (",
                           n_chars, " characters)"));
      if (q.context.find(text) == std::string::npos)
        return problem(cat("answer '", shorten(text), "' is not contained in the context"));
      const std::string found = q.context.substr(static_cast<size_t>(cps[static_cast<size_t>(start)]),
                                                 static_cast<size_t>(cps[static_cast<size_t>(start + len)] -
                                                                     cps[static_cast<size_t>(start)]));
      if (strip(found) != strip(text))
        return problem(cat("answer '", shorten(text), "' is not at answer_start ", start, " (the context has '",
                           shorten(found), "' there)"));
      Value av = Value::object();
      av.set("text", text);
      av.set("answer_start", start);
      answers.push_back(std::move(av));
    }
  }
  b.id = q.id;
  b.loc = q.loc;
  b.raw = Value::object();
  b.raw.set("id", q.id);
  b.raw.set("question", q.question);
  b.raw.set("context", q.context);
  b.raw.set("answers", std::move(answers));
  b.raw.set("is_impossible", q.is_impossible || b.raw.at("answers").size() == 0);
  b.raw.set("labelled", !q.answers.is_null() || q.is_impossible);
  if (!q.version.empty()) b.raw.set("version", q.version);
  if (!q.title.empty()) b.raw.set("title", q.title);
  b.raw.with_location(q.loc);
  return true;
}

}  // namespace

void SquadProcessorOptions::visit(OptionVisitor& v) {
  files.visit(v);
  v.optional("max_seq_len", max_seq_len, "tokens per window: special tokens + question + a piece of the context",
             at_least(8));
  v.optional("doc_stride", doc_stride,
             "context tokens shared by consecutive windows of a long context (HF run_qa.py semantics)", at_least(0));
  v.optional("max_query_length", max_query_length, "questions are cut to this many tokens", at_least(1));
}

void SquadProcessorOptions::check(Diagnostics& d) const {
  if (max_query_length + 4 >= max_seq_len)
    d.error("max_query_length", cat("must leave room for the context: max_query_length (", max_query_length,
                                    ") + special tokens must be well below max_seq_len (", max_seq_len, ")"));
  else if (doc_stride >= max_seq_len - max_query_length - 3)
    d.error("doc_stride", cat("must be smaller than the context part of a window (max_seq_len - max_query_length - 3 = ",
                              max_seq_len - max_query_length - 3, "), got ", doc_stride));
}

SquadProcessor::SquadProcessor(const SquadProcessorOptions& options, const ProcessorContext& context)
    : options_(options), base_dir_(context.base_dir) {
  Diagnostics d;
  options_.check(d);
  if (!d.ok()) throw ConfigError(cat("squad options:\n", d.format()));
}

std::string SquadProcessor::resolve(const std::string& path) const {
  if (path.empty() || base_dir_.empty() || fs::path(path).is_absolute()) return path;
  fs::path joined = fs::path(base_dir_) / path;
  std::error_code ec;
  if (fs::exists(joined, ec) || !fs::exists(path, ec)) return joined.string();
  return path;
}

std::vector<Basket> SquadProcessor::parse(const std::string& text, const std::string& file,
                                          std::vector<RecordProblem>& problems) const {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    int64_t line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(byte, text.size())), '\n');
    throw DataError(cat(file, ":", line, ": invalid JSON: ", e.what()));
  }
  // Lines of records: ids appear in file order, so a running search finds each one's line.
  size_t cursor = 0;
  int64_t cursor_line = 1;
  auto line_of = [&](const std::string& id) -> int64_t {
    if (id.empty()) return 0;
    size_t pos = text.find("\"" + id + "\"", cursor);
    if (pos == std::string::npos) return 0;
    cursor_line += std::count(text.begin() + static_cast<std::ptrdiff_t>(cursor), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n');
    cursor = pos;
    return cursor_line;
  };
  std::vector<Basket> out;
  std::set<std::string> seen;
  auto limit_reached = [&] {
    return options_.files.max_samples > 0 && static_cast<int64_t>(out.size()) >= options_.files.max_samples;
  };
  auto add_paragraph = [&](const json& para, const std::string& version, const std::string& title,
                           const std::string& where) {
    if (!para.is_object()) {
      problems.push_back(RecordProblem{SourceLocation{file, 0, 0}, cat(where, ": expected an object with \"context\" and \"qas\"")});
      return;
    }
    std::string context;
    if (para.contains("context") && para["context"].is_string()) context = para["context"].get<std::string>();
    if (!para.contains("qas") || !para["qas"].is_array()) {
      problems.push_back(RecordProblem{SourceLocation{file, 0, 0}, cat(where, ": no \"qas\" array")});
      return;
    }
    size_t qi = 0;
    for (const auto& qa : para["qas"]) {
      if (limit_reached()) return;
      QuestionIn q;
      q.context = context;
      q.version = version;
      q.title = title;
      if (qa.is_string()) {
        q.question = qa.get<std::string>();
      } else if (qa.is_object()) {
        if (qa.contains("question") && qa["question"].is_string()) q.question = qa["question"].get<std::string>();
        if (qa.contains("id")) q.id = qa["id"].is_string() ? qa["id"].get<std::string>() : qa["id"].dump();
        if (qa.contains("answers")) q.answers = qa["answers"];
        if (qa.contains("is_impossible") && qa["is_impossible"].is_boolean()) q.is_impossible = qa["is_impossible"].get<bool>();
      }
      if (q.id.empty()) q.id = cat(where, ".qas[", qi, "]");
      q.loc = SourceLocation{file, line_of(qa.is_object() && qa.contains("id") ? q.id : std::string()), 0};
      ++qi;
      if (!seen.insert(q.id).second) {
        problems.push_back(RecordProblem{q.loc, cat("question id '", q.id, "' appears twice")});
        continue;
      }
      Basket b;
      if (make_basket(q, b, problems)) out.push_back(std::move(b));
    }
  };
  if (j.is_object() && j.contains("data")) {
    GRAFT_CHECK(j["data"].is_array(), DataError, file, ": \"data\" must be an array of articles");
    std::string version;
    if (j.contains("version")) version = j["version"].is_string() ? j["version"].get<std::string>() : j["version"].dump();
    size_t ai = 0;
    for (const auto& article : j["data"]) {
      std::string title = article.is_object() && article.contains("title") && article["title"].is_string()
                              ? article["title"].get<std::string>() : std::string();
      if (!article.is_object() || !article.contains("paragraphs") || !article["paragraphs"].is_array()) {
        problems.push_back(RecordProblem{SourceLocation{file, 0, 0}, cat("data[", ai, "]: no \"paragraphs\" array")});
        ++ai;
        continue;
      }
      size_t pi = 0;
      for (const auto& para : article["paragraphs"]) add_paragraph(para, version, title, cat("data[", ai, "].paragraphs[", pi++, "]"));
      ++ai;
    }
  } else if (j.is_array()) {  // FARM dicts: [{"qas": [...], "context": ...}, ...]
    size_t i = 0;
    for (const auto& d : j) add_paragraph(d, "", "", cat("[", i++, "]"));
  } else if (j.is_object() && j.contains("qas")) {
    add_paragraph(j, "", "", "record");
  } else {
    throw DataError(cat(file, ": expected SQuAD JSON ({\"data\": [{\"paragraphs\": [{\"context\", \"qas\"}]}]}) or FARM "
                        "dicts [{\"qas\": [...], \"context\": ...}]"));
  }
  return out;
}

std::vector<Basket> SquadProcessor::read(const std::string& path, std::vector<RecordProblem>& problems) const {
  GRAFT_CHECK(!path.empty(), ConfigError, "squad: no data file given");
  const std::string file = resolve(path);
  std::ifstream in(file, std::ios::binary);
  GRAFT_CHECK(in.good(), DataError, file, ": cannot open the file (does it exist?)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto baskets = parse(ss.str(), file, problems);
  int64_t no_answer = 0;
  for (const auto& b : baskets) no_answer += b.raw.get_bool("is_impossible", false);
  log::info("squad: ", file, ": ", baskets.size(), " questions (", no_answer, " without an answer), ", problems.size(),
            " bad");
  return baskets;
}

std::vector<Basket> SquadProcessor::from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const {
  std::vector<Basket> out;
  for (size_t i = 0; i < dicts.size(); ++i) {
    const Value& d = dicts[i];
    SourceLocation loc = d.location().file.empty() ? SourceLocation{cat("input[", i, "]"), 0, 0} : d.location();
    auto problem = [&](std::string m) { problems.push_back(RecordProblem{loc, std::move(m)}); };
    if (!d.is_object()) {
      problem(cat("expected an object {\"question\": ..., \"context\": ...}, got ", d.type_name()));
      continue;
    }
    QuestionIn q;
    q.loc = loc;
    q.id = std::to_string(i);
    const Value* ctx = d.find("context");
    if (!ctx) ctx = d.find("text");
    if (!ctx || !ctx->is_string()) {
      problem("missing \"context\" string");
      continue;
    }
    q.context = ctx->as_string();
    const Value* qv = d.find("question");
    if (const Value* qas = d.find("qas")) {
      if (!qas->is_array() || qas->size() != 1) {
        problem("\"qas\" must hold exactly one question per input (give several inputs for several questions)");
        continue;
      }
      qv = &qas->as_array()[0];
    }
    if (qv && qv->is_object()) {
      if (const Value* id = qv->find("id"); id && id->is_string()) q.id = id->as_string();
      if (const Value* a = qv->find("answers"); a && a->is_array()) q.answers = json::parse(a->dump_json());
      qv = qv->find("question");
    }
    if (!qv || !qv->is_string()) {
      problem("missing \"question\" string");
      continue;
    }
    q.question = qv->as_string();
    if (const Value* id = d.find("id"); id && id->is_string()) q.id = id->as_string();
    if (const Value* a = d.find("answers"); a && a->is_array()) q.answers = json::parse(a->dump_json());
    Basket b;
    if (make_basket(q, b, problems)) out.push_back(std::move(b));
  }
  return out;
}

void SquadProcessor::featurize(Basket& basket, const Tokenizer& tokenizer) const {
  try {
    const Value& raw = basket.raw;
    std::string question = raw.at("question").as_string();
    const std::string& context = raw.at("context").as_string();
    // max_query_length: cut the question text after its max_query_length-th token
    EncodeOptions qo;
    qo.add_special_tokens = false;
    qo.max_length = options_.max_query_length;
    Encoding qe = tokenizer.encode_one(TextInput::single(question), qo);
    if (!qe.offsets.empty() && qe.offsets.back().second < static_cast<int64_t>(question.size()))
      question = question.substr(0, static_cast<size_t>(qe.offsets.back().second));

    EncodeOptions eo;
    eo.max_length = options_.max_seq_len;
    eo.truncation = Truncation::only_second;
    eo.stride = options_.doc_stride;
    eo.return_overflowing = true;
    std::vector<Encoding> windows = tokenizer.encode(TextInput::with_pair(question, context), eo);

    const bool labelled = raw.get_bool("labelled", false);
    const bool impossible = raw.get_bool("is_impossible", false);
    int64_t ans_b = -1, ans_e = -1;
    if (labelled && !impossible) {
      const Value& a = raw.at("answers").as_array().front();
      const auto cps = code_point_bytes(context);
      const auto tcps = code_point_bytes(a.at("text").as_string());
      const int64_t start = a.at("answer_start").as_int();
      const int64_t len = static_cast<int64_t>(tcps.size()) - 1;
      ans_b = cps[static_cast<size_t>(start)];
      ans_e = cps[static_cast<size_t>(start + len)];
    }
    basket.samples.clear();
    for (size_t w = 0; w < windows.size(); ++w) {
      Encoding& e = windows[w];
      Sample s;
      s.id = cat(basket.id, "-", w);
      set_input_features(s, e);
      if (labelled) {
        int64_t sp = 0, ep = 0;
        if (ans_b >= 0) {
          int64_t first = -1, last = -1;
          for (size_t t = 0; t < e.size(); ++t)
            if (e.sequence_ids[t] == 1) {
              if (first < 0) first = static_cast<int64_t>(t);
              last = static_cast<int64_t>(t);
            }
          if (first >= 0 && e.offsets[static_cast<size_t>(first)].first <= ans_b &&
              e.offsets[static_cast<size_t>(last)].second >= ans_e) {
            int64_t st = first, en = last;
            for (int64_t t = first; t <= last; ++t)
              if (e.offsets[static_cast<size_t>(t)].first <= ans_b) st = t;
            for (int64_t t = last; t >= first; --t)
              if (e.offsets[static_cast<size_t>(t)].second >= ans_e) en = t;
            if (st <= en) {
              sp = st;
              ep = en;
            }
          }
        }
        s.features[start_key()] = torch::tensor(sp, torch::kInt64);
        s.features[end_key()] = torch::tensor(ep, torch::kInt64);
      }
      s.meta = Value::object();
      s.meta.set("window", static_cast<int64_t>(w));
      s.encoding = std::move(e);
      basket.samples.push_back(std::move(s));
    }
  } catch (const std::exception& ex) {
    basket.problem = ex.what();
    basket.samples.clear();
  }
}

Batch SquadProcessor::collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const {
  Batch batch;
  collate_inputs(samples, tokenizer.pad_id(), batch);
  std::vector<torch::Tensor> st, en;
  for (const Sample* s : samples) {
    auto a = s->features.find(start_key());
    auto b = s->features.find(end_key());
    if (a == s->features.end() || b == s->features.end()) return batch;
    st.push_back(a->second.reshape({}));
    en.push_back(b->second.reshape({}));
  }
  if (!st.empty()) {
    batch.tensors[start_key()] = torch::stack(st);
    batch.tensors[end_key()] = torch::stack(en);
  }
  return batch;
}

std::string SquadProcessor::label_of(const Basket& basket) const {
  return basket.raw.get_bool("is_impossible", false) ? "no_answer" : "answerable";
}

}  // namespace graft::plugins::question_answering
