#include "processor.h"

#include "delimited_reader.h"

#include <graft/error.h>
#include <graft/log.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace graft::plugins::text_classification {

namespace fs = std::filesystem;

namespace {

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

std::string join(const std::vector<std::string>& items, size_t max_items = 30) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + ("'" + items[i] + "'");
  if (items.size() > max_items) out += cat(", ... (", items.size(), " in all)");
  return out;
}

std::string shown(char c) {
  if (c == '\t') return "'\\t' (tab)";
  return cat("'", c, "'");
}

bool ends_with_csv(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".csv";
}

}  // namespace

void ProcessorOptions::visit(OptionVisitor& v) {
  files.visit(v);
  v.optional("delimiter", delimiter,
             "field separator, one character; empty = tab, or ',' for files whose name ends in .csv");
  v.optional("quote_char", quote_char,
             "quote character (RFC 4180: quoted fields may hold delimiters, newlines and doubled quotes); "
             "empty = no quoting");
  v.optional("text_column", text_column, "header name of the column holding the text");
  v.optional("text_pair_column", text_pair_column,
             "header name of the column holding the second text of a pair (empty = single texts)");
  v.optional("label_column", label_column, "header name of the column holding the label");
  v.optional("labels", labels,
             "label names in index order; empty = the sorted set of labels found in the train file");
  v.optional("max_seq_len", max_seq_len, "tokens per sample including special tokens (longer inputs are truncated)",
             at_least(2));
}

void ProcessorOptions::check(Diagnostics& d) const {
  if (delimiter.size() > 1) d.error("delimiter", cat("must be a single character, got '", delimiter, "'"));
  if (quote_char.size() > 1) d.error("quote_char", cat("must be a single character or empty, got '", quote_char, "'"));
  if (delimiter.size() == 1 && quote_char == delimiter)
    d.error("quote_char", "must differ from the delimiter");
  if (delimiter == "\n" || delimiter == "\r" || quote_char == "\n" || quote_char == "\r")
    d.error("delimiter", "a line break cannot be a delimiter or quote character");
  if (text_column.empty()) d.error("text_column", "must name a column");
  if (label_column.empty()) d.error("label_column", "must name a column");
  if (!text_pair_column.empty() && (text_pair_column == text_column || text_pair_column == label_column))
    d.error("text_pair_column", cat("'", text_pair_column, "' is already used as the text or label column"));
  if (text_column == label_column) d.error("label_column", cat("'", label_column, "' is also the text column"));
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (l.empty()) d.error("labels", "labels must not be empty strings");
    else if (!seen.insert(l).second) d.error("labels", cat("label '", l, "' is listed twice"));
  }
}

TsvClassificationProcessor::TsvClassificationProcessor(const ProcessorOptions& options,
                                                       const ProcessorContext& context)
    : options_(options), base_dir_(context.base_dir) {
  Diagnostics d;
  options_.check(d);
  if (!d.ok()) throw ConfigError(cat("tsv_classification options:\n", d.format()));
  set_labels(options_.labels);
}

void TsvClassificationProcessor::set_labels(std::vector<std::string> labels) {
  labels_ = std::move(labels);
  label_index_.clear();
  for (size_t i = 0; i < labels_.size(); ++i) label_index_.emplace(labels_[i], static_cast<int64_t>(i));
}

std::string TsvClassificationProcessor::known_labels() const { return join(labels_); }

std::string TsvClassificationProcessor::resolve(const std::string& path) const {
  if (path.empty() || base_dir_.empty() || fs::path(path).is_absolute()) return path;
  fs::path joined = fs::path(base_dir_) / path;
  std::error_code ec;
  if (fs::exists(joined, ec) || !fs::exists(path, ec)) return joined.string();
  return path;  // already resolved by the caller (relative to the working directory)
}

std::vector<Basket> TsvClassificationProcessor::read(const std::string& path,
                                                     std::vector<RecordProblem>& problems) const {
  GRAFT_CHECK(!path.empty(), ConfigError, "tsv_classification: no data file given");
  const std::string file = resolve(path);
  DelimitedFormat format;
  format.delimiter = options_.delimiter.empty() ? (ends_with_csv(file) ? ',' : '\t') : options_.delimiter[0];
  format.quoting = !options_.quote_char.empty();
  if (format.quoting) format.quote = options_.quote_char[0];

  auto records = read_delimited_file(file, format);
  GRAFT_CHECK(!records.empty(), DataError, file, ": the file is empty; expected a header row naming the columns ('",
              options_.text_column, "', '", options_.label_column, "') and one record per line");
  const DelimitedRecord& header = records.front();
  GRAFT_CHECK(header.problem.empty(), DataError, file, ":", header.line, ": bad header row: ", header.problem);
  auto column = [&](const std::string& name, const char* option) -> size_t {
    auto it = std::find(header.fields.begin(), header.fields.end(), name);
    if (it == header.fields.end()) {
      std::string hint;
      if (header.fields.size() == 1)
        hint = cat(" (only one column was found with delimiter ", shown(format.delimiter),
                   "; is the delimiter option right?)");
      throw DataError(cat(file, ":", header.line, ": no column '", name, "' (option ", option,
                          ") in the header row; columns found: ", join(header.fields), hint));
    }
    return static_cast<size_t>(it - header.fields.begin());
  };
  const size_t text_idx = column(options_.text_column, "text_column");
  const bool has_pair = !options_.text_pair_column.empty();
  const size_t pair_idx = has_pair ? column(options_.text_pair_column, "text_pair_column") : 0;
  const size_t label_idx = column(options_.label_column, "label_column");
  const size_t n_fields = header.fields.size();

  std::vector<Basket> baskets;
  for (size_t r = 1; r < records.size(); ++r) {
    const DelimitedRecord& rec = records[r];
    SourceLocation loc{file, rec.line, 0};
    auto problem = [&](std::string message) { problems.push_back(RecordProblem{loc, std::move(message)}); };
    if (!rec.problem.empty()) {
      problem(rec.problem);
      continue;
    }
    if (rec.fields.size() != n_fields) {
      problem(cat(rec.fields.size() < n_fields ? "too few" : "too many", " fields: expected ", n_fields,
                  " as in the header, found ", rec.fields.size(), " (delimiter ", shown(format.delimiter), ")"));
      continue;
    }
    const std::string& text = rec.fields[text_idx];
    if (is_blank(text)) {
      problem(cat("empty text in column '", options_.text_column, "'"));
      continue;
    }
    if (has_pair && is_blank(rec.fields[pair_idx])) {
      problem(cat("empty text in column '", options_.text_pair_column, "'"));
      continue;
    }
    const std::string& label = rec.fields[label_idx];
    if (label.empty()) {
      problem(cat("empty label in column '", options_.label_column, "'"));
      continue;
    }
    if (!labels_.empty() && label_index_.count(label) == 0) {
      problem(cat("unknown label '", label, "' in column '", options_.label_column, "'; expected one of ",
                  known_labels()));
      continue;
    }
    Basket b;
    b.id = cat(file, ":", rec.line);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("text", text);
    if (has_pair) b.raw.set("text_b", rec.fields[pair_idx]);
    b.raw.set("label", label);
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
    if (options_.files.max_samples > 0 && static_cast<int64_t>(baskets.size()) >= options_.files.max_samples) break;
  }
  return baskets;
}

std::vector<Basket> TsvClassificationProcessor::from_dicts(const std::vector<Value>& dicts,
                                                           std::vector<RecordProblem>& problems) const {
  std::vector<Basket> baskets;
  for (size_t i = 0; i < dicts.size(); ++i) {
    const Value& d = dicts[i];
    SourceLocation loc = d.location().file.empty() ? SourceLocation{cat("input[", i, "]"), 0, 0} : d.location();
    auto problem = [&](std::string message) { problems.push_back(RecordProblem{loc, std::move(message)}); };
    if (!d.is_object()) {
      problem(cat("expected an object like {\"text\": \"...\"}, got ", d.type_name()));
      continue;
    }
    const Value* text = d.find("text");
    if (!text || !text->is_string()) {
      problem(text ? cat("\"text\" must be a string, got ", text->type_name()) : std::string("missing \"text\""));
      continue;
    }
    if (is_blank(text->as_string())) {
      problem("empty \"text\"");
      continue;
    }
    Basket b;
    b.id = std::to_string(i);
    b.loc = loc;
    b.raw = Value::object();
    b.raw.set("text", text->as_string());
    if (const Value* pair = d.find("text_b"); pair && !pair->is_null()) {
      if (!pair->is_string() || is_blank(pair->as_string())) {
        problem(pair->is_string() ? std::string("empty \"text_b\"")
                                  : cat("\"text_b\" must be a string, got ", pair->type_name()));
        continue;
      }
      b.raw.set("text_b", pair->as_string());
    } else if (!options_.text_pair_column.empty()) {
      problem("missing \"text_b\" (this task classifies text pairs)");
      continue;
    }
    if (const Value* label = d.find("label"); label && !label->is_null()) {
      std::string l;
      if (label->is_string()) l = label->as_string();
      else if (label->is_int()) l = std::to_string(label->as_int());
      else {
        problem(cat("\"label\" must be a string, got ", label->type_name()));
        continue;
      }
      if (!labels_.empty() && label_index_.count(l) == 0) {
        problem(cat("unknown label '", l, "'; expected one of ", known_labels()));
        continue;
      }
      b.raw.set("label", l);
    }
    b.raw.with_location(loc);
    baskets.push_back(std::move(b));
  }
  return baskets;
}

void TsvClassificationProcessor::featurize(Basket& basket, const Tokenizer& tokenizer) const {
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
    if (const Value* label = raw.find("label")) {
      auto it = label_index_.find(label->as_string());
      if (it == label_index_.end()) {
        basket.problem = labels_.empty()
                             ? cat("label '", label->as_string(), "' cannot be mapped: the label list is empty")
                             : cat("unknown label '", label->as_string(), "'; expected one of ", known_labels());
        return;
      }
      s.features[label_key()] = torch::tensor(it->second, torch::dtype(torch::kInt64));
    }
    basket.samples.clear();
    basket.samples.push_back(std::move(s));
  } catch (const std::exception& e) {
    basket.problem = e.what();
  }
}

Batch TsvClassificationProcessor::collate(const std::vector<const Sample*>& samples,
                                          const Tokenizer& tokenizer) const {
  Batch batch;
  collate_inputs(samples, tokenizer.pad_id(), batch);
  const std::string key = label_key();
  bool all = !samples.empty();
  std::vector<torch::Tensor> labels;
  for (const Sample* s : samples) {
    auto it = s->features.find(key);
    if (it == s->features.end()) {
      all = false;
      break;
    }
    labels.push_back(it->second.reshape({}));
  }
  if (all) batch.tensors[key] = torch::stack(labels);
  return batch;
}

void TsvClassificationProcessor::prepare(const std::vector<Basket>& train) {
  if (!options_.labels.empty()) return;
  std::set<std::string> found;
  for (const auto& b : train)
    if (const Value* l = b.raw.find("label"); l && l->is_string()) found.insert(l->as_string());
  if (found.empty()) {
    log::warn("tsv_classification", task().empty() ? "" : " (task '" + task() + "')",
              ": no labels found in the training data and none given in the recipe (`labels`)");
    return;
  }
  set_labels(std::vector<std::string>(found.begin(), found.end()));
  log::info("tsv_classification", task().empty() ? "" : " (task '" + task() + "')", ": collected ", labels_.size(),
            " labels from the training data: [", join(labels_, 100), "]");
}

std::string TsvClassificationProcessor::label_of(const Basket& basket) const {
  const Value* l = basket.raw.find("label");
  return l && l->is_string() ? l->as_string() : std::string();
}

}  // namespace graft::plugins::text_classification
