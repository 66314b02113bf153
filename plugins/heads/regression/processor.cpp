#include "processor.h"

#include <graft/error.h>

#include <set>

namespace graft::plugins::regression {

void ProcessorOptions::visit(OptionVisitor& v) {
  files.visit(v);
  table.visit(v);
  v.optional("text_column", text_column, "column holding the text");
  v.optional("text_pair_column", text_pair_column,
             "column holding the second text of a pair (STS-B: sentence2); empty = single texts");
  v.optional("label_column", label_column, "column holding the numeric target");
  v.optional("label_columns", label_columns,
             "several numeric target columns (one output each); overrides label_column when given");
  v.optional("labels", labels,
             "names of the outputs, in order; empty = the target column names (filled in by the engine)");
  v.optional("max_seq_len", max_seq_len, "tokens per sample including special tokens (longer inputs are truncated)",
             at_least(2));
}

void ProcessorOptions::check(Diagnostics& d) const {
  table.check(d);
  if (text_column.empty()) d.error("text_column", "must name a column");
  auto t = targets();
  std::set<std::string> seen;
  for (const auto& c : t) {
    if (c.empty()) d.error(label_columns.empty() ? "label_column" : "label_columns", "must name a column");
    else if (!seen.insert(c).second) d.error("label_columns", cat("column '", c, "' is listed twice"));
    if (c == text_column || (!text_pair_column.empty() && c == text_pair_column))
      d.error(label_columns.empty() ? "label_column" : "label_columns", cat("'", c, "' is also a text column"));
  }
  if (!text_pair_column.empty() && text_pair_column == text_column)
    d.error("text_pair_column", cat("'", text_pair_column, "' is also the text column"));
  if (!labels.empty() && labels.size() != t.size())
    d.error("labels", cat("names ", labels.size(), " outputs but there are ", t.size(), " target columns"));
}

RegressionProcessor::RegressionProcessor(const ProcessorOptions& options, const ProcessorContext& context)
    : options_(options), base_dir_(context.base_dir) {
  Diagnostics d;
  options_.check(d);
  if (!d.ok()) throw ConfigError(cat("tsv_regression options:\n", d.format()));
  outputs_ = options_.labels.empty() ? options_.targets() : options_.labels;
}

std::vector<Basket> RegressionProcessor::read(const std::string& path, std::vector<RecordProblem>& problems) const {
  GRAFT_CHECK(!path.empty(), ConfigError, "tsv_regression: no data file given");
  const std::string file = common::resolve_data_path(base_dir_, path);
  const size_t first_problem = problems.size();
  common::Table t = common::read_table(file, options_.table, problems);
  const size_t text_idx = t.column(options_.text_column, "text_column");
  const bool has_pair = !options_.text_pair_column.empty();
  const size_t pair_idx = has_pair ? t.column(options_.text_pair_column, "text_pair_column") : 0;
  std::vector<size_t> target_idx;
  for (const auto& c : options_.targets())
    target_idx.push_back(t.column(c, options_.label_columns.empty() ? "label_column" : "label_columns"));
  const auto names = options_.targets();
  std::vector<Basket> baskets;
  for (const auto& rec : t.rows) {
    SourceLocation loc{file, rec.line, 0};
    auto problem = [&](std::string m) { problems.push_back(RecordProblem{loc, std::move(m)}); };
    if (common::is_blank(rec.fields[text_idx])) {
      problem(cat("empty text in column '", options_.text_column, "'"));
      continue;
    }
    if (has_pair && common::is_blank(rec.fields[pair_idx])) {
      problem(cat("empty text in column '", options_.text_pair_column, "'"));
      continue;
    }
    std::vector<double> values;
    std::string why;
    for (size_t k = 0; k < target_idx.size() && why.empty(); ++k) {
      const std::string& field = rec.fields[target_idx[k]];
      auto v = common::parse_number(field);
      if (!v) why = common::is_blank(field) ? cat("empty target in column '", names[k], "'; expected a number")
                                            : cat("target '", field, "' in column '", names[k], "' is not a number");
      else values.push_back(*v);
    }
    if (!why.empty()) {
      problem(why);
      continue;
    }
    Basket b;
    b.id = cat(file, ":", rec.line);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("text", rec.fields[text_idx]);
    if (has_pair) b.raw.set("text_b", rec.fields[pair_idx]);
    b.raw.set("targets", Value(values));
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
    if (options_.files.max_samples > 0 && static_cast<int64_t>(baskets.size()) >= options_.files.max_samples) break;
  }
  common::sort_problems(problems, first_problem);
  return baskets;
}

std::vector<Basket> RegressionProcessor::from_dicts(const std::vector<Value>& dicts,
                                                    std::vector<RecordProblem>& problems) const {
  std::vector<Basket> baskets;
  const size_t k = outputs_.size();
  for (size_t i = 0; i < dicts.size(); ++i) {
    const Value& d = dicts[i];
    SourceLocation loc = d.location().file.empty() ? SourceLocation{cat("input[", i, "]"), 0, 0} : d.location();
    auto problem = [&](std::string m) { problems.push_back(RecordProblem{loc, std::move(m)}); };
    if (!d.is_object()) {
      problem(cat("expected an object like {\"text\": \"...\"}, got ", d.type_name()));
      continue;
    }
    const Value* text = d.find("text");
    if (!text || !text->is_string() || common::is_blank(text->as_string())) {
      problem(!text ? std::string("missing \"text\"")
                    : text->is_string() ? std::string("empty \"text\"") : cat("\"text\" must be a string, got ", text->type_name()));
      continue;
    }
    Basket b;
    b.id = std::to_string(i);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("text", text->as_string());
    if (const Value* pair = d.find("text_b"); pair && !pair->is_null()) {
      if (!pair->is_string() || common::is_blank(pair->as_string())) {
        problem(pair->is_string() ? std::string("empty \"text_b\"") : cat("\"text_b\" must be a string, got ", pair->type_name()));
        continue;
      }
      b.raw.set("text_b", pair->as_string());
    } else if (!options_.text_pair_column.empty()) {
      problem("missing \"text_b\" (this task scores text pairs)");
      continue;
    }
    const Value* target = d.find("label");
    if (!target) target = d.find("target");
    if (target && !target->is_null()) {
      std::vector<double> values;
      std::string why;
      auto take = [&](const Value& x) {
        if (x.is_number()) values.push_back(x.as_double());
        else if (x.is_string() && common::parse_number(x.as_string())) values.push_back(*common::parse_number(x.as_string()));
        else why = cat("the target must be a number, got ", x.is_string() ? "'" + x.as_string() + "'" : x.type_name());
      };
      if (target->is_array()) for (const auto& x : target->as_array()) take(x);
      else take(*target);
      if (why.empty() && values.size() != k) why = cat("expected ", k, " target value(s), got ", values.size());
      if (!why.empty()) {
        problem(why);
        continue;
      }
      b.raw.set("targets", Value(values));
    }
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
  }
  return baskets;
}

void RegressionProcessor::featurize(Basket& basket, const Tokenizer& tokenizer) const {
  try {
    const Value& raw = basket.raw;
    TextInput input = TextInput::single(raw.at("text").as_string());
    if (const Value* pair = raw.find("text_b")) input.pair = pair->as_string();
    EncodeOptions eo;
    eo.max_length = options_.max_seq_len;
    eo.truncation = Truncation::longest_first;
    Encoding enc = tokenizer.encode_one(input, eo);
    Sample s;
    s.id = basket.id + "-0";
    set_input_features(s, enc);
    s.encoding = std::move(enc);
    if (const Value* t = raw.find("targets")) {
      std::vector<double> v;
      for (const auto& x : t->as_array()) v.push_back(x.as_double());
      s.features[label_key()] = torch::tensor(v, torch::kFloat64).to(torch::kFloat32);
    }
    basket.samples.clear();
    basket.samples.push_back(std::move(s));
  } catch (const std::exception& e) {
    basket.problem = e.what();
  }
}

Batch RegressionProcessor::collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const {
  Batch batch;
  collate_inputs(samples, tokenizer.pad_id(), batch);
  const std::string key = label_key();
  std::vector<torch::Tensor> rows;
  for (const Sample* s : samples) {
    auto it = s->features.find(key);
    if (it == s->features.end()) return batch;
    rows.push_back(it->second);
  }
  if (!rows.empty()) batch.tensors[key] = torch::stack(rows);
  return batch;
}

}  // namespace graft::plugins::regression
