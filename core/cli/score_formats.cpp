#include "score_formats.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/error.h>

#include <algorithm>

namespace graft::cli {

MetricInput read_conll_score_file(const std::string& path) {
  std::string text = core::read_file(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (int64_t bad = core::find_invalid_utf8(text); bad >= 0) {
    int64_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
    throw DataError(cat(path, ":", line, ": invalid UTF-8; the file must be UTF-8 encoded"));
  }
  MetricInput in;
  std::vector<std::string> gold, pred;
  auto flush = [&] {
    if (!gold.empty()) {
      in.gold.emplace_back(Value(gold));
      in.pred.emplace_back(Value(pred));
    }
    gold.clear();
    pred.clear();
  };
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::vector<std::string> fields;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i >= line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty()) {
      flush();
      continue;
    }
    if (fields[0] == "-DOCSTART-") {
      flush();
      continue;
    }
    if (fields.size() < 2)
      throw DataError(cat(path, ":", line_no, ": found ", fields.size(),
                          " column; expected `token gold pred` (the last two columns are the gold and predicted tags)"));
    gold.push_back(fields[fields.size() - 2]);
    pred.push_back(fields[fields.size() - 1]);
  }
  flush();
  if (in.gold.empty()) throw DataError(cat(path, ": no sentences; expected lines `token gold pred` and blank lines between sentences"));
  return in;
}

bool looks_like_json_document(const std::string& path) {
  std::string text = core::read_file(path);
  size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
  if (i >= text.size() || text[i] != '{') return false;
  // one JSON value per line (multilabel/regression files) is not a document: look for a second line with content
  size_t nl = text.find('\n', i);
  if (nl == std::string::npos) nl = text.size();
  try {
    Value first = core::parse_json(text.substr(i, nl - i), path);
    size_t rest = text.find_first_not_of(" \t\r\n", nl);
    return rest == std::string::npos && first.is_object() && first.contains("data");  // a one-line SQuAD file
  } catch (const Error&) {
    return true;  // the first line alone is not JSON: a multi-line document
  }
}

MetricInput read_squad_score_files(const std::string& gold_path, const std::string& pred_path,
                                   const std::string& na_prob_path) {
  Value gold = core::read_json_file(gold_path);
  const Value* data = gold.is_object() ? gold.find("data") : nullptr;
  GRAFT_CHECK(data && data->is_array(), DataError, gold_path,
              ": expected a SQuAD file {\"version\": ..., \"data\": [{\"paragraphs\": [{\"qas\": [...]}]}]}");
  Value preds = core::read_json_file(pred_path);
  GRAFT_CHECK(preds.is_object(), DataError, pred_path, ": expected a JSON object {question id: answer text}");
  Value na;
  if (!na_prob_path.empty()) {
    na = core::read_json_file(na_prob_path);
    GRAFT_CHECK(na.is_object(), DataError, na_prob_path, ": expected a JSON object {question id: probability}");
  }
  std::string version;
  if (const Value* v = gold.find("version")) version = v->is_string() ? v->as_string() : v->dump_json();
  MetricInput in;
  for (size_t a = 0; a < data->size(); ++a) {
    const Value& article = data->as_array()[a];
    const Value* paras = article.find("paragraphs");
    GRAFT_CHECK(paras && paras->is_array(), DataError, gold_path, ": data[", a, "] has no \"paragraphs\" array");
    for (size_t p = 0; p < paras->size(); ++p) {
      const Value* qas = paras->as_array()[p].find("qas");
      GRAFT_CHECK(qas && qas->is_array(), DataError, gold_path, ": data[", a, "].paragraphs[", p, "] has no \"qas\" array");
      for (size_t q = 0; q < qas->size(); ++q) {
        const Value& qa = qas->as_array()[q];
        const Value* id = qa.find("id");
        const Value* answers = qa.find("answers");
        GRAFT_CHECK(id && id->is_string() && answers && answers->is_array(), DataError, gold_path, ": data[", a,
                    "].paragraphs[", p, "].qas[", q, "] needs an \"id\" string and an \"answers\" array");
        Value g = Value::object();
        g.set("id", id->as_string());
        Value texts = Value::array();
        for (const auto& ans : answers->as_array()) {
          const Value* t = ans.find("text");
          GRAFT_CHECK(t && t->is_string(), DataError, gold_path, ": question '", id->as_string(),
                      "' has an answer without a \"text\" string");
          texts.push_back(*t);
        }
        g.set("answers", std::move(texts));
        g.set("version", version);
        in.gold.push_back(std::move(g));
        const Value* pv = preds.find(id->as_string());
        if (!pv) {
          in.pred.emplace_back();
          continue;
        }
        GRAFT_CHECK(pv->is_string(), DataError, pred_path, ": the prediction for '", id->as_string(),
                    "' must be a string, got ", pv->type_name());
        if (na.is_object()) {
          const Value* np = na.find(id->as_string());
          GRAFT_CHECK(np && np->is_number(), DataError, na_prob_path, ": no probability for question '",
                      id->as_string(), "'");
          Value o = Value::object();
          o.set("answer", *pv);
          o.set("no_answer_prob", np->as_double());
          in.pred.push_back(std::move(o));
        } else {
          in.pred.push_back(*pv);
        }
      }
    }
  }
  GRAFT_CHECK(!in.gold.empty(), DataError, gold_path, ": no questions");
  return in;
}

}  // namespace graft::cli
