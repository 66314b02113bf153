#include "processor.h"

#include <graft/error.h>
#include <graft/log.h>

#include <set>

namespace graft::plugins::multilabel {

void ProcessorOptions::visit(OptionVisitor& v) {
  files.visit(v);
  table.visit(v);
  v.optional("text_column", text_column, "column holding the text");
  v.optional("text_pair_column", text_pair_column, "column holding the second text of a pair (empty = single texts)");
  v.optional("label_column", label_column,
             "column holding the labels of a row, separated by label_separator (an empty field = no label)");
  v.optional("label_separator", label_separator, "separator between the labels of one row");
  v.optional("label_format", label_format,
             "\"names\": the labels are label names; \"ids\": 0-based indices into the label list (GoEmotions)",
             one_of({"names", "ids"}));
  v.optional("labels", labels,
             "label names in index order; empty = labels_file, else the sorted set of names found in the train file");
  v.optional("labels_file", labels_file,
             "file with one label name per line, in index order (e.g. GoEmotions' labels.txt); used when `labels` "
             "is empty");
  v.optional("max_seq_len", max_seq_len, "tokens per sample including special tokens (longer inputs are truncated)",
             at_least(2));
}

void ProcessorOptions::check(Diagnostics& d) const {
  table.check(d);
  if (text_column.empty()) d.error("text_column", "must name a column");
  if (label_column.empty()) d.error("label_column", "must name a column");
  if (text_column == label_column) d.error("label_column", cat("'", label_column, "' is also the text column"));
  if (!text_pair_column.empty() && (text_pair_column == text_column || text_pair_column == label_column))
    d.error("text_pair_column", cat("'", text_pair_column, "' is already used as the text or label column"));
  if (label_separator.empty()) d.error("label_separator", "must not be empty");
  if (label_format == "ids" && labels.empty() && labels_file.empty())
    d.error("label_format", "\"ids\" needs the label names: give `labels` or `labels_file`");
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (common::trim(l).empty()) d.error("labels", "labels must not be empty strings");
    else if (l.find(label_separator) != std::string::npos)
      d.error("labels", cat("label '", l, "' contains the label separator '", label_separator, "'"));
    else if (!seen.insert(l).second) d.error("labels", cat("label '", l, "' is listed twice"));
  }
}

MultilabelProcessor::MultilabelProcessor(const ProcessorOptions& options, const ProcessorContext& context)
    : options_(options), base_dir_(context.base_dir) {
  Diagnostics d;
  options_.check(d);
  if (!d.ok()) throw ConfigError(cat("tsv_multilabel options:\n", d.format()));
  if (!options_.labels.empty()) {
    set_labels(options_.labels);
  } else if (!options_.labels_file.empty()) {
    const std::string file = common::resolve_data_path(base_dir_, options_.labels_file);
    auto names = common::read_lines(file);
    std::set<std::string> seen;
    for (const auto& n : names)
      GRAFT_CHECK(seen.insert(n).second, DataError, file, ": label '", n, "' is listed twice");
    set_labels(std::move(names));
  }
}

void MultilabelProcessor::set_labels(std::vector<std::string> labels) {
  labels_ = std::move(labels);
  label_index_.clear();
  for (size_t i = 0; i < labels_.size(); ++i) label_index_.emplace(labels_[i], static_cast<int64_t>(i));
}

std::vector<std::string> MultilabelProcessor::parse_labels(const std::string& field, std::string& problem) const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& item : common::split_trimmed(field, options_.label_separator)) {
    if (item.empty()) {
      problem = cat("empty label in '", field, "' (labels are separated by '", options_.label_separator, "')");
      return {};
    }
    std::string name = item;
    if (options_.label_format == "ids") {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || id < 0 || id >= static_cast<long long>(labels_.size())) {
        problem = cat("label id '", item, "' is not an index 0..", labels_.size() - 1, " into the label list");
        return {};
      }
      name = labels_[static_cast<size_t>(id)];
    } else if (!labels_.empty() && label_index_.count(name) == 0) {
      problem = cat("unknown label '", name, "'; expected labels from ", common::join_quoted(labels_));
      return {};
    }
    if (seen.insert(name).second) out.push_back(name);
  }
  return out;
}

std::vector<Basket> MultilabelProcessor::read(const std::string& path, std::vector<RecordProblem>& problems) const {
  GRAFT_CHECK(!path.empty(), ConfigError, "tsv_multilabel: no data file given");
  const std::string file = common::resolve_data_path(base_dir_, path);
  const size_t first_problem = problems.size();
  common::Table t = common::read_table(file, options_.table, problems);
  const size_t text_idx = t.column(options_.text_column, "text_column");
  const bool has_pair = !options_.text_pair_column.empty();
  const size_t pair_idx = has_pair ? t.column(options_.text_pair_column, "text_pair_column") : 0;
  const size_t label_idx = t.column(options_.label_column, "label_column");
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
    std::string why;
    auto names = parse_labels(rec.fields[label_idx], why);
    if (!why.empty()) {
      problem(cat(why, " in column '", options_.label_column, "'"));
      continue;
    }
    Basket b;
    b.id = cat(file, ":", rec.line);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("text", rec.fields[text_idx]);
    if (has_pair) b.raw.set("text_b", rec.fields[pair_idx]);
    b.raw.set("labels", Value(names));
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
    if (options_.files.max_samples > 0 && static_cast<int64_t>(baskets.size()) >= options_.files.max_samples) break;
  }
  common::sort_problems(problems, first_problem);
  return baskets;
}

std::vector<Basket> MultilabelProcessor::from_dicts(const std::vector<Value>& dicts,
                                                    std::vector<RecordProblem>& problems) const {
  std::vector<Basket> baskets;
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
      problem("missing \"text_b\" (this task classifies text pairs)");
      continue;
    }
    const Value* labels = d.find("labels");
    if (!labels) labels = d.find("label");
    if (labels && !labels->is_null()) {
      std::vector<std::string> names;
      std::string why;
      if (labels->is_string()) {
        names = parse_labels(labels->as_string(), why);
      } else if (labels->is_array()) {
        for (const auto& l : labels->as_array()) {
          if (!l.is_string()) {
            why = cat("\"labels\" must hold strings, got a ", l.type_name());
            break;
          }
          if (!labels_.empty() && label_index_.count(l.as_string()) == 0) {
            why = cat("unknown label '", l.as_string(), "'; expected labels from ", common::join_quoted(labels_));
            break;
          }
          names.push_back(l.as_string());
        }
      } else {
        why = cat("\"labels\" must be a list of label names or a '", options_.label_separator,
                  "'-separated string, got a ", labels->type_name());
      }
      if (!why.empty()) {
        problem(why);
        continue;
      }
      b.raw.set("labels", Value(names));
    }
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
  }
  return baskets;
}

void MultilabelProcessor::featurize(Basket& basket, const Tokenizer& tokenizer) const {
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
    if (const Value* labels = raw.find("labels")) {
      if (labels_.empty()) {
        basket.problem = "the label list is empty: give `labels`/`labels_file`, or train data to collect them from";
        return;
      }
      std::vector<float> hot(labels_.size(), 0.0f);
      for (const auto& l : labels->as_array()) {
        auto it = label_index_.find(l.as_string());
        if (it == label_index_.end()) {
          basket.problem = cat("unknown label '", l.as_string(), "'; expected labels from ", common::join_quoted(labels_));
          return;
        }
        hot[static_cast<size_t>(it->second)] = 1.0f;
      }
      s.features[label_key()] = torch::tensor(hot, torch::kFloat32);
    }
    basket.samples.clear();
    basket.samples.push_back(std::move(s));
  } catch (const std::exception& e) {
    basket.problem = e.what();
  }
}

Batch MultilabelProcessor::collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const {
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

void MultilabelProcessor::prepare(const std::vector<Basket>& train) {
  if (!labels_.empty()) return;
  std::set<std::string> found;
  for (const auto& b : train)
    if (const Value* l = b.raw.find("labels"); l && l->is_array())
      for (const auto& x : l->as_array()) found.insert(x.as_string());
  if (found.empty()) {
    log::warn("tsv_multilabel", task().empty() ? "" : " (task '" + task() + "')",
              ": no labels found in the training data and none given in the recipe (`labels`, `labels_file`)");
    return;
  }
  set_labels(std::vector<std::string>(found.begin(), found.end()));
  log::info("tsv_multilabel", task().empty() ? "" : " (task '" + task() + "')", ": collected ", labels_.size(),
            " labels from the training data: [", common::join_quoted(labels_, 100), "]");
}

std::string MultilabelProcessor::label_of(const Basket& basket) const {
  const Value* l = basket.raw.find("labels");
  if (!l || !l->is_array()) return {};
  std::string out;
  for (const auto& x : l->as_array()) out += (out.empty() ? "" : ",") + x.as_string();
  return out.empty() ? std::string("(none)") : out;
}

}  // namespace graft::plugins::multilabel
