#include "processor.h"

#include <graft/error.h>

#include <cmath>
#include <set>

namespace graft::plugins::ranking {

void ProcessorOptions::visit(OptionVisitor& v) {
  files.visit(v);
  table.visit(v);
  v.optional("query_column", query_column, "column holding the query");
  v.optional("passage_column", passage_column, "column holding the passage");
  v.optional("label_column", label_column,
             "column holding the relevance of the passage to the query: a number >= 0 (0 = not relevant; graded "
             "relevance 0..3 is fine)");
  v.optional("query_id_column", query_id_column,
             "column identifying the query for grouping (empty = rows with the same query text form one query)");
  v.optional("max_seq_len", max_seq_len,
             "tokens per (query, passage) sample including special tokens (longer pairs are truncated)", at_least(4));
}

void ProcessorOptions::check(Diagnostics& d) const {
  table.check(d);
  std::set<std::string> seen;
  for (const auto& [key, col] : std::vector<std::pair<std::string, std::string>>{
           {"query_column", query_column}, {"passage_column", passage_column}, {"label_column", label_column},
           {"query_id_column", query_id_column}}) {
    if (col.empty()) {
      if (key != "query_id_column") d.error(key, "must name a column");
      continue;
    }
    if (!seen.insert(col).second) d.error(key, cat("column '", col, "' is already used by another option"));
  }
}

RankingProcessor::RankingProcessor(const ProcessorOptions& options, const ProcessorContext& context)
    : options_(options), base_dir_(context.base_dir) {
  Diagnostics d;
  options_.check(d);
  if (!d.ok()) throw ConfigError(cat("tsv_ranking options:\n", d.format()));
}

std::vector<Basket> RankingProcessor::read(const std::string& path, std::vector<RecordProblem>& problems) const {
  GRAFT_CHECK(!path.empty(), ConfigError, "tsv_ranking: no data file given");
  const std::string file = common::resolve_data_path(base_dir_, path);
  const size_t first_problem = problems.size();
  common::Table t = common::read_table(file, options_.table, problems);
  const size_t q_idx = t.column(options_.query_column, "query_column");
  const size_t p_idx = t.column(options_.passage_column, "passage_column");
  const size_t l_idx = t.column(options_.label_column, "label_column");
  const bool has_id = !options_.query_id_column.empty();
  const size_t id_idx = has_id ? t.column(options_.query_id_column, "query_id_column") : 0;
  std::vector<Basket> baskets;
  for (const auto& rec : t.rows) {
    SourceLocation loc{file, rec.line, 0};
    auto problem = [&](std::string m) { problems.push_back(RecordProblem{loc, std::move(m)}); };
    if (common::is_blank(rec.fields[q_idx])) {
      problem(cat("empty query in column '", options_.query_column, "'"));
      continue;
    }
    if (common::is_blank(rec.fields[p_idx])) {
      problem(cat("empty passage in column '", options_.passage_column, "'"));
      continue;
    }
    if (has_id && common::is_blank(rec.fields[id_idx])) {
      problem(cat("empty query id in column '", options_.query_id_column, "'"));
      continue;
    }
    auto rel = common::parse_number(rec.fields[l_idx]);
    if (!rel || *rel < 0) {
      problem(cat("relevance '", rec.fields[l_idx], "' in column '", options_.label_column,
                  "' is not a number >= 0"));
      continue;
    }
    Basket b;
    b.id = cat(file, ":", rec.line);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("query", rec.fields[q_idx]);
    b.raw.set("passage", rec.fields[p_idx]);
    b.raw.set("query_id", has_id ? common::trim(rec.fields[id_idx]) : rec.fields[q_idx]);
    b.raw.set("relevance", *rel);
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
    if (options_.files.max_samples > 0 && static_cast<int64_t>(baskets.size()) >= options_.files.max_samples) break;
  }
  common::sort_problems(problems, first_problem);
  return baskets;
}

std::vector<Basket> RankingProcessor::from_dicts(const std::vector<Value>& dicts,
                                                 std::vector<RecordProblem>& problems) const {
  std::vector<Basket> baskets;
  for (size_t i = 0; i < dicts.size(); ++i) {
    const Value& d = dicts[i];
    SourceLocation loc = d.location().file.empty() ? SourceLocation{cat("input[", i, "]"), 0, 0} : d.location();
    auto problem = [&](std::string m) { problems.push_back(RecordProblem{loc, std::move(m)}); };
    if (!d.is_object()) {
      problem(cat("expected an object like {\"query\": \"...\", \"passage\": \"...\"}, got ", d.type_name()));
      continue;
    }
    // {"query", "passage"}, or the generic {"text", "text_b"} of `graft infer --text`.
    const Value* q = d.find("query");
    if (!q) q = d.find("text");
    const Value* p = d.find("passage");
    if (!p) p = d.find("text_b");
    auto text_ok = [](const Value* v) { return v && v->is_string() && !common::is_blank(v->as_string()); };
    if (!text_ok(q) || !text_ok(p)) {
      problem(!text_ok(q) ? "missing or empty \"query\" (a string)" : "missing or empty \"passage\" (a string)");
      continue;
    }
    Basket b;
    b.id = std::to_string(i);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("query", q->as_string());
    b.raw.set("passage", p->as_string());
    const Value* qid = d.find("query_id");
    b.raw.set("query_id", qid && qid->is_string() ? qid->as_string()
                          : qid && qid->is_int() ? std::to_string(qid->as_int()) : q->as_string());
    const Value* rel = d.find("relevance");
    if (!rel) rel = d.find("label");
    if (rel && !rel->is_null()) {
      double r = -1;
      if (rel->is_number()) r = rel->as_double();
      else if (rel->is_string() && common::parse_number(rel->as_string())) r = *common::parse_number(rel->as_string());
      if (!(r >= 0) || !std::isfinite(r)) {
        problem("\"relevance\" must be a number >= 0");
        continue;
      }
      b.raw.set("relevance", r);
    }
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
  }
  return baskets;
}

void RankingProcessor::featurize(Basket& basket, const Tokenizer& tokenizer) const {
  try {
    const Value& raw = basket.raw;
    TextInput input = TextInput::with_pair(raw.at("query").as_string(), raw.at("passage").as_string());
    EncodeOptions eo;
    eo.max_length = options_.max_seq_len;
    eo.truncation = Truncation::longest_first;
    Encoding enc = tokenizer.encode_one(input, eo);
    Sample s;
    s.id = basket.id + "-0";
    set_input_features(s, enc);
    s.encoding = std::move(enc);
    if (const Value* rel = raw.find("relevance"))
      s.features[label_key()] = torch::tensor(rel->as_double(), torch::kFloat32);
    basket.samples.clear();
    basket.samples.push_back(std::move(s));
  } catch (const std::exception& e) {
    basket.problem = e.what();
  }
}

Batch RankingProcessor::collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const {
  Batch batch;
  collate_inputs(samples, tokenizer.pad_id(), batch);
  const std::string key = label_key();
  std::vector<torch::Tensor> rows;
  for (const Sample* s : samples) {
    auto it = s->features.find(key);
    if (it == s->features.end()) return batch;
    rows.push_back(it->second.reshape({}));
  }
  if (!rows.empty()) batch.tensors[key] = torch::stack(rows);
  return batch;
}

std::string RankingProcessor::label_of(const Basket& basket) const {
  const Value* r = basket.raw.find("relevance");
  if (!r || !r->is_number()) return {};
  double v = r->as_double();
  return v == std::floor(v) ? std::to_string(static_cast<int64_t>(v)) : cat(v);
}

}  // namespace graft::plugins::ranking
