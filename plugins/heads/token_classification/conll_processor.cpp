#include "conll_processor.h"

#include "seqeval.h"

#include <graft/error.h>
#include <graft/log.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace graft::plugins::token_classification {

namespace fs = std::filesystem;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

bool is_blank(const std::string& s) { return std::all_of(s.begin(), s.end(), is_space); }

std::vector<std::string> split_fields(const std::string& line, const std::string& delimiter) {
  std::vector<std::string> out;
  if (delimiter.empty()) {
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      out.push_back(line.substr(i, j - i));
      i = j;
    }
    return out;
  }
  size_t start = 0;
  while (true) {
    size_t pos = line.find(delimiter[0], start);
    out.push_back(line.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

/// Byte offset of the first invalid UTF-8 sequence, or -1.
int64_t invalid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return static_cast<int64_t>(i);
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return static_cast<int64_t>(i);
    i += n;
  }
  return -1;
}

std::string join_list(const std::vector<std::string>& items, size_t max_items = 30) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_items; ++i) out += (i ? ", " : "") + ("'" + items[i] + "'");
  if (items.size() > max_items) out += cat(", ... (", items.size(), " in all)");
  return out;
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> whitespace_words(const std::string& text) {
  std::vector<std::pair<int64_t, int64_t>> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    out.emplace_back(static_cast<int64_t>(i), static_cast<int64_t>(j));
    i = j;
  }
  return out;
}

int64_t char_offset(const std::string& text, int64_t byte) {
  int64_t n = 0;
  for (int64_t i = 0; i < byte && i < static_cast<int64_t>(text.size()); ++i)
    if ((static_cast<unsigned char>(text[static_cast<size_t>(i)]) & 0xC0) != 0x80) ++n;
  return n;
}

void ConllOptions::visit(OptionVisitor& v) {
  files.visit(v);
  v.optional("format", format,
             "\"conll\": token and tag columns as configured; \"germeval14\": GermEval 2014 TSV (index, token, "
             "outer tag, inner tag; token_column = 1 and tag_column = 2 unless tag_column is given)",
             one_of({"conll", "germeval14"}));
  v.optional("delimiter", delimiter, "column separator: empty = any run of spaces/tabs; or one character such as \"\\t\"");
  v.optional("token_column", token_column, "0-based column holding the token", at_least(0));
  v.optional("tag_column", tag_column, "0-based column holding the tag; -1 = the last column", at_least(-1));
  v.optional("columns", columns,
             "columns every token line must have; 0 = taken from the first token line of each file", at_least(0));
  v.optional("convert_iob1", convert_iob1,
             "rewrite IOB1 tags as IOB2 (an I-X that does not continue an X entity becomes B-X) when reading");
  v.optional("labels", labels,
             "tag names in index order; empty = collected from the train file (\"O\" first, then sorted)");
  v.optional("subtoken_label", subtoken_label,
             "what the non-first sub-tokens of a word learn: \"ignore\" (left out of the loss, HF) or \"X\" (FARM's "
             "X label, added to the label list)",
             one_of({"ignore", "X"}));
  v.optional("max_seq_len", max_seq_len,
             "tokens per window including special tokens; longer sentences are split into overlapping windows",
             at_least(4));
  v.optional("stride", stride, "tokens shared by consecutive windows of a long sentence", at_least(0));
}

void ConllOptions::check(Diagnostics& d) const {
  if (delimiter.size() > 1) d.error("delimiter", cat("must be empty or one character, got '", delimiter, "'"));
  if (delimiter == "\n" || delimiter == "\r") d.error("delimiter", "a line break cannot be a delimiter");
  if (tag_column >= 0 && tag_column == token_column && format == "conll")
    d.error("tag_column", cat("is the token column (", token_column, ")"));
  if (stride >= max_seq_len - 3)
    d.error("stride", cat("must be smaller than max_seq_len minus the special tokens (", max_seq_len, " - 3), got ",
                          stride));
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (l.empty()) d.error("labels", "labels must not be empty strings");
    else if (!seen.insert(l).second) d.error("labels", cat("label '", l, "' is listed twice"));
  }
}

ConllProcessor::ConllProcessor(const ConllOptions& options, const ProcessorContext& context)
    : options_(options), base_dir_(context.base_dir) {
  Diagnostics d;
  options_.check(d);
  if (!d.ok()) throw ConfigError(cat("conll options:\n", d.format()));
  std::vector<std::string> l = options_.labels;
  if (!l.empty() && options_.subtoken_label == "X" && std::find(l.begin(), l.end(), "X") == l.end()) l.push_back("X");
  set_labels(std::move(l));
}

void ConllProcessor::set_labels(std::vector<std::string> labels) {
  labels_ = std::move(labels);
  label_index_.clear();
  for (size_t i = 0; i < labels_.size(); ++i) label_index_.emplace(labels_[i], static_cast<int64_t>(i));
}

std::string ConllProcessor::resolve(const std::string& path) const {
  if (path.empty() || base_dir_.empty() || fs::path(path).is_absolute()) return path;
  fs::path joined = fs::path(base_dir_) / path;
  std::error_code ec;
  if (fs::exists(joined, ec) || !fs::exists(path, ec)) return joined.string();
  return path;
}

Basket ConllProcessor::make_basket(std::vector<std::string> words, std::vector<std::string> tags,
                                   const SourceLocation& loc, const std::string& id) const {
  Basket b;
  b.id = id;
  b.loc = loc;
  b.raw = Value::object();
  std::string text;
  Value offsets = Value::array();
  for (const auto& w : words) {
    if (!text.empty()) text += ' ';
    int64_t start = static_cast<int64_t>(text.size());
    text += w;
    offsets.push_back(Value(std::vector<int64_t>{start, static_cast<int64_t>(text.size())}));
  }
  b.raw.set("text", text);
  b.raw.set("words", Value(words));
  b.raw.set("word_offsets", std::move(offsets));
  if (!tags.empty()) b.raw.set("tags", Value(tags));
  b.raw.with_location(loc);
  return b;
}

std::vector<Basket> ConllProcessor::parse(const std::string& text, const std::string& file,
                                          std::vector<RecordProblem>& problems) const {
  const bool germeval = options_.format == "germeval14";
  const int64_t token_col = germeval ? 1 : options_.token_column;
  const int64_t tag_opt = germeval && options_.tag_column < 0 ? 2 : options_.tag_column;
  int64_t expected_cols = options_.columns;
  std::vector<Basket> out;

  std::vector<std::string> words, tags;
  int64_t first_line = 0;
  bool bad = false;
  auto flush = [&]() {
    if (!words.empty() && !bad) {
      if (options_.convert_iob1 && !tags.empty()) tags = iob1_to_iob2(tags);
      bool ok = true;
      if (!labels_.empty() && !tags.empty()) {
        for (size_t i = 0; i < tags.size(); ++i)
          if (label_index_.count(tags[i]) == 0) {
            problems.push_back(RecordProblem{SourceLocation{file, first_line + static_cast<int64_t>(i), 0},
                                             cat("tag '", tags[i], "' is not in the label list (",
                                                 join_list(labels_), ")")});
            ok = false;
            break;
          }
      }
      if (ok)
        out.push_back(make_basket(std::move(words), std::move(tags), SourceLocation{file, first_line, 0},
                                  cat(file, ":", first_line)));
    }
    words.clear();
    tags.clear();
    bad = false;
    first_line = 0;
  };

  int64_t line_no = 0;
  size_t pos = 0;
  bool line_tags = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) {
      flush();
      if (options_.files.max_samples > 0 && static_cast<int64_t>(out.size()) >= options_.files.max_samples) break;
      continue;
    }
    if (line.rfind("-DOCSTART-", 0) == 0) {
      flush();
      continue;
    }
    if (line[0] == '#' && words.empty() && !bad) continue;  // comment (only before a sentence's first token)
    auto fields = split_fields(line, options_.delimiter);
    if (expected_cols == 0) expected_cols = static_cast<int64_t>(fields.size());
    auto problem = [&](std::string msg) {
      problems.push_back(RecordProblem{SourceLocation{file, line_no, 0}, std::move(msg)});
      bad = true;
    };
    if (words.empty() && first_line == 0) first_line = line_no;
    if (bad) continue;
    if (static_cast<int64_t>(fields.size()) != expected_cols) {
      problem(cat("found ", fields.size(), " column", fields.size() == 1 ? "" : "s", ", expected ", expected_cols,
                  options_.columns > 0 ? " (option columns)" : " (as on the first token line of the file)",
                  options_.delimiter.empty() ? "; columns are separated by spaces/tabs" : ""));
      continue;
    }
    const int64_t tag_col = tag_opt < 0 ? expected_cols - 1 : tag_opt;
    if (token_col >= expected_cols) {
      problem(cat("no token column ", token_col, " (0-based): the line has ", expected_cols, " columns"));
      continue;
    }
    const bool has_tag = tag_col < expected_cols && tag_col != token_col;
    if (!has_tag && (tag_opt >= 0 || germeval)) {
      problem(cat("no tag column ", tag_col, " (0-based): the line has ", expected_cols, " columns"));
      continue;
    }
    if (germeval) {
      const std::string& idx = fields[0];
      if (idx.empty() || !std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        problem(cat("GermEval 2014: the first column must be the token index, found '", idx, "'"));
        continue;
      }
    }
    const std::string& token = fields[static_cast<size_t>(token_col)];
    if (token.empty()) {
      problem("empty token");
      continue;
    }
    if (words.empty()) line_tags = has_tag;
    if (has_tag != line_tags) {
      problem("some lines of this sentence have a tag column and others do not");
      continue;
    }
    words.push_back(token);
    if (has_tag) {
      const std::string& tag = fields[static_cast<size_t>(tag_col)];
      if (tag.empty()) {
        problem("empty tag");
        continue;
      }
      tags.push_back(tag);
    }
  }
  flush();
  if (options_.files.max_samples > 0 && static_cast<int64_t>(out.size()) > options_.files.max_samples)
    out.resize(static_cast<size_t>(options_.files.max_samples));
  return out;
}

std::vector<Basket> ConllProcessor::read(const std::string& path, std::vector<RecordProblem>& problems) const {
  GRAFT_CHECK(!path.empty(), ConfigError, "conll: no data file given");
  const std::string file = resolve(path);
  std::ifstream in(file, std::ios::binary);
  GRAFT_CHECK(in.good(), DataError, file, ": cannot open the file (does it exist?)");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (int64_t bad = invalid_utf8(text); bad >= 0) {
    int64_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
    throw DataError(cat(file, ":", line, ": invalid UTF-8; the file must be UTF-8 encoded"));
  }
  const size_t problems_before = problems.size();
  auto baskets = parse(text, file, problems);
  GRAFT_CHECK(!baskets.empty() || problems.size() > problems_before, DataError, file,
              ": no sentences found; expected one token per line (token and tag columns) with blank lines between "
              "sentences");
  return baskets;
}

std::vector<Basket> ConllProcessor::from_dicts(const std::vector<Value>& dicts,
                                               std::vector<RecordProblem>& problems) const {
  std::vector<Basket> out;
  for (size_t i = 0; i < dicts.size(); ++i) {
    const Value& d = dicts[i];
    SourceLocation loc = d.location().file.empty() ? SourceLocation{cat("input[", i, "]"), 0, 0} : d.location();
    auto problem = [&](std::string m) { problems.push_back(RecordProblem{loc, std::move(m)}); };
    if (!d.is_object()) {
      problem(cat("expected an object like {\"text\": \"...\"} or {\"words\": [...]}, got ", d.type_name()));
      continue;
    }
    std::vector<std::string> words;
    std::string text;
    bool from_text = false;
    if (const Value* w = d.find("words"); w && !w->is_null()) {
      if (!w->is_array()) {
        problem(cat("\"words\" must be an array of strings, got ", w->type_name()));
        continue;
      }
      bool ok = true;
      for (const auto& x : w->as_array()) {
        if (!x.is_string() || x.as_string().empty() || x.as_string().find_first_of(" \t\r\n") != std::string::npos) {
          ok = false;
          break;
        }
        words.push_back(x.as_string());
      }
      if (!ok) {
        problem("\"words\" must hold non-empty strings without whitespace");
        continue;
      }
    } else if (const Value* t = d.find("text"); t && t->is_string()) {
      text = t->as_string();
      from_text = true;
      for (auto [b, e] : whitespace_words(text)) words.push_back(text.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)));
    } else {
      problem(t ? cat("\"text\" must be a string, got ", t->type_name()) : std::string("missing \"text\" (or \"words\")"));
      continue;
    }
    if (words.empty()) {
      problem("empty text: nothing to tag");
      continue;
    }
    std::vector<std::string> tags;
    const Value* tv = d.find("tags");
    if (!tv) tv = d.find("labels");
    if (tv && !tv->is_null()) {
      if (!tv->is_array() || tv->size() != words.size()) {
        problem(cat("\"tags\" must be an array with one tag per word (", words.size(), " words)"));
        continue;
      }
      for (const auto& x : tv->as_array()) tags.push_back(x.is_string() ? x.as_string() : std::string());
      if (options_.convert_iob1) tags = iob1_to_iob2(tags);
      bool ok = true;
      for (const auto& t : tags)
        if (t.empty() || (!labels_.empty() && label_index_.count(t) == 0)) {
          problem(cat("tag '", t, "' is not in the label list (", join_list(labels_), ")"));
          ok = false;
          break;
        }
      if (!ok) continue;
    }
    Basket b = make_basket(words, tags, loc, std::to_string(i));
    if (from_text) {  // keep the caller's text and its word positions for character offsets
      Value offsets = Value::array();
      for (auto [s, e] : whitespace_words(text)) offsets.push_back(Value(std::vector<int64_t>{s, e}));
      b.raw.set("text", text);
      b.raw.set("word_offsets", std::move(offsets));
    }
    out.push_back(std::move(b));
  }
  return out;
}

void ConllProcessor::featurize(Basket& basket, const Tokenizer& tokenizer) const {
  try {
    const Value& raw = basket.raw;
    TextInput input;
    for (const auto& w : raw.at("words").as_array()) input.words.push_back(w.as_string());
    std::vector<int64_t> tag_ids;
    if (const Value* tv = raw.find("tags")) {
      for (const auto& t : tv->as_array()) {
        auto it = label_index_.find(t.as_string());
        if (it == label_index_.end()) {
          basket.problem = labels_.empty()
                               ? cat("tag '", t.as_string(), "' cannot be mapped: the label list is empty")
                               : cat("tag '", t.as_string(), "' is not in the label list (", join_list(labels_), ")");
          return;
        }
        tag_ids.push_back(it->second);
      }
    }
    EncodeOptions eo;
    eo.max_length = options_.max_seq_len;
    eo.truncation = Truncation::longest_first;
    eo.stride = options_.stride;
    eo.return_overflowing = true;
    std::vector<Encoding> windows = tokenizer.encode(input, eo);
    // The first sub-token of a word is the one with the word's smallest start offset (a window
    // may begin in the middle of a word; its first piece there is not the word's first).
    std::map<int64_t, int64_t> min_start;
    for (const auto& e : windows)
      for (size_t t = 0; t < e.size(); ++t)
        if (e.word_ids[t] >= 0) {
          auto [it, inserted] = min_start.emplace(e.word_ids[t], e.offsets[t].first);
          if (!inserted) it->second = std::min(it->second, e.offsets[t].first);
        }
    const int64_t x_id = options_.subtoken_label == "X" && label_index_.count("X") ? label_index_.at("X") : -100;
    basket.samples.clear();
    for (size_t w = 0; w < windows.size(); ++w) {
      Encoding& e = windows[w];
      Sample s;
      s.id = cat(basket.id, "-", w);
      set_input_features(s, e);
      if (!tag_ids.empty()) {
        std::vector<int64_t> lab(e.size(), -100);
        for (size_t t = 0; t < e.size(); ++t) {
          int64_t wid = e.word_ids[t];
          if (wid < 0 || wid >= static_cast<int64_t>(tag_ids.size())) continue;
          bool first = (t == 0 || e.word_ids[t - 1] != wid) && e.offsets[t].first == min_start[wid];
          lab[t] = first ? tag_ids[static_cast<size_t>(wid)] : x_id;
        }
        s.features[label_key()] = torch::tensor(lab, torch::kInt64);
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

Batch ConllProcessor::collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const {
  Batch batch;
  collate_inputs(samples, tokenizer.pad_id(), batch);
  const std::string key = label_key();
  std::vector<torch::Tensor> rows;
  for (const Sample* s : samples) {
    auto it = s->features.find(key);
    if (it == s->features.end()) return batch;
    rows.push_back(it->second);
  }
  if (!rows.empty()) batch.tensors[key] = pad_stack(rows, -100);
  return batch;
}

void ConllProcessor::prepare(const std::vector<Basket>& train) {
  if (!options_.labels.empty()) return;
  std::set<std::string> found;
  for (const auto& b : train)
    if (const Value* t = b.raw.find("tags"))
      for (const auto& x : t->as_array()) found.insert(x.as_string());
  if (found.empty()) {
    log::warn("conll", task().empty() ? "" : " (task '" + task() + "')",
              ": no tags found in the training data and none given in the recipe (`labels`)");
    return;
  }
  std::vector<std::string> l;
  if (found.erase("O")) l.push_back("O");
  l.insert(l.end(), found.begin(), found.end());
  if (options_.subtoken_label == "X" && std::find(l.begin(), l.end(), "X") == l.end()) l.push_back("X");
  set_labels(std::move(l));
  log::info("conll", task().empty() ? "" : " (task '" + task() + "')", ": collected ", labels_.size(),
            " tags from the training data: [", join_list(labels_, 100), "]");
}

}  // namespace graft::plugins::token_classification
