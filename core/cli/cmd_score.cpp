// graft score METRIC... --gold FILE --pred FILE [--labels a,b,c] [--report]
// Scores predictions against gold values (one per line: labels, label sets, numbers, ranking
// rows or JSON) with registry metrics and prints one JSON object keyed by metric name.
#include "cli.h"
#include "score_formats.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/registry.h>
#include <graft/error.h>
#include <graft/metric.h>
#include <graft/value.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <iostream>
#include <set>
#include <sstream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// One value per line; a final newline is optional, CRLF and a UTF-8 BOM are accepted, surrounding
/// whitespace is ignored. A line starting with '{' or '[' is parsed as JSON (structured values such as
/// {"query": "q1", "score": 0.7} or {"labels": [...], "scores": {...}}); any other line is a string
/// (a label, comma-separated labels, a number, "query<TAB>value"). An empty line is an empty string
/// (a multilabel sample without labels; single-label metrics reject it). Each value carries its
/// file:line, which metrics use in their messages. With `allowed` (--labels) every label of a string
/// line — the whole line, or each comma-separated item of a multilabel line — must be in it.
std::vector<Value> read_value_file(const std::string& path, const std::vector<std::string>& allowed,
                                   const std::string& allowed_text) {
  std::string text = core::read_file(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (int64_t bad = core::find_invalid_utf8(text); bad >= 0) {
    int64_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
    throw DataError(cat(path, ":", line, ": invalid UTF-8; the file must be UTF-8 encoded"));
  }
  auto known = [&](const std::string& l) { return std::find(allowed.begin(), allowed.end(), l) != allowed.end(); };
  std::vector<Value> values;
  size_t start = 0;
  int64_t line = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line;
    std::string item = trim(text.substr(start, end - start));
    start = end + 1;
    SourceLocation loc{path, line, 0};
    Value v;
    if (!item.empty() && (item.front() == '{' || item.front() == '[')) {
      try {
        v = core::parse_json(item, cat(path, ":", line));
      } catch (const Error& e) {
        throw DataError(cat(path, ":", line, ": the line starts like JSON but is not valid JSON (", e.what(), ")"));
      }
    } else {
      if (!allowed.empty() && !item.empty() && !known(item)) {
        std::stringstream ss(item);
        bool all_known = item.find(',') != std::string::npos;
        std::string bad_label = item;
        for (std::string part; all_known && std::getline(ss, part, ',');)
          if (!known(trim(part))) {
            all_known = false;
            bad_label = trim(part);
          }
        if (!all_known)
          throw DataError(cat(path, ":", line, ": label '", bad_label, "' is not in --labels (", allowed_text, ")"));
      }
      v = Value(item);
    }
    v.with_location(loc);
    values.push_back(std::move(v));
  }
  if (values.empty()) throw DataError(cat(path, ": no values; expected one label (or value) per line"));
  return values;
}

std::vector<std::string> parse_label_list(const std::string& spec) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    item = trim(item);
    if (item.empty()) throw ConfigError(cat("--labels '", spec, "': empty label name; expected a,b,c"));
    if (!seen.insert(item).second) throw ConfigError(cat("--labels '", spec, "': label '", item, "' is listed twice"));
    out.push_back(item);
  }
  if (out.empty()) throw ConfigError("--labels is empty; expected a comma-separated list such as neg,pos");
  return out;
}

int run_score(CliContext& ctx, const std::vector<std::string>& args) {
  std::vector<std::string> metric_names;
  std::string gold_path, pred_path, labels_spec, conll_path, na_prob_path;
  bool report = false;
  po::options_description visible(
      "usage: graft score METRIC... --gold FILE --pred FILE [--labels a,b,c] [--report]\n\n"
      "Scores predictions against gold values (one per line, same order; surrounding whitespace is\n"
      "ignored) with the named metrics and prints one JSON object keyed by metric name to stdout.\n"
      "What a line holds depends on the metric:\n"
      "  classification (acc f1_macro mcc acc_f1 ...)   one label\n"
      "  multilabel (ml_f1_micro ml_f1_macro ml_f1_samples hamming_loss subset_accuracy ...)\n"
      "                                                 labels separated by ',' (empty line = none);\n"
      "                                                 roc_auc_* need scores: a JSON line such as\n"
      "                                                 {\"labels\": [\"joy\"], \"scores\": {\"joy\": 0.9, ...}}\n"
      "  regression (mse rmse mae r2 pearson spearman pear_spear)   a number\n"
      "  ranking (mrr map ndcg recall@k ndcg@k hits@k mrr@k)   QUERY<TAB>RELEVANCE (gold) and\n"
      "                                                 QUERY<TAB>SCORE (pred), one per (query, passage)\n"
      "  seq_f1 (NER)                                  --conll FILE: `token gold pred` per line, blank line\n"
      "                                                 between sentences (conlleval style); no --gold/--pred\n"
      "  squad (QA)                                    --gold a SQuAD JSON file, --pred {id: answer} as the\n"
      "                                                 official script takes them (--na-prob {id: p} for v2.0)\n"
      "A line starting with '{' or '[' is read as JSON.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("gold", po::value(&gold_path)->value_name("FILE"), "gold values, one per line")
      ("pred", po::value(&pred_path)->value_name("FILE"), "predicted values, one per line")
      ("labels", po::value(&labels_spec)->value_name("a,b,c"),
       "label list fixing the class order (and the classes of macro averages); every label in both files must be "
       "in it. Default: the sorted union of the labels found")
      ("conll", po::value(&conll_path)->value_name("FILE"), "NER: a conlleval-style file `token gold pred` (seq_f1)")
      ("na-prob", po::value(&na_prob_path)->value_name("FILE"), "QA v2.0: no-answer probabilities {id: p} (squad)")
      ("report", po::bool_switch(&report), "also print the classification report and confusion matrix to stderr");
  po::options_description hidden;
  hidden.add_options()("metric", po::value(&metric_names)->multitoken(), "metric names");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("metric", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft score: ", e.what(), " (see graft score --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (metric_names.empty())
    throw ConfigError("graft score: name at least one metric, e.g. `graft score acc f1_macro --gold g.txt --pred p.txt`");
  if (conll_path.empty() && gold_path.empty()) throw ConfigError("graft score: --gold FILE is required");
  if (conll_path.empty() && pred_path.empty()) throw ConfigError("graft score: --pred FILE is required");

  MetricInput input;
  if (!conll_path.empty()) {
    input = read_conll_score_file(conll_path);
  } else if (looks_like_json_document(gold_path)) {
    input = read_squad_score_files(gold_path, pred_path, na_prob_path);
  } else {
    std::string allowed_text;
    if (vm.count("labels")) {
      input.labels = parse_label_list(labels_spec);
      for (size_t i = 0; i < input.labels.size(); ++i) allowed_text += (i ? ", " : "") + input.labels[i];
    }
    auto gold = read_value_file(gold_path, input.labels, allowed_text);
    auto pred = read_value_file(pred_path, input.labels, allowed_text);
    if (gold.size() != pred.size())
      throw DataError(cat("--gold ", gold_path, " has ", gold.size(), " labels but --pred ", pred_path, " has ",
                          pred.size(), "; both need one label per line for the same inputs"));
    input.gold = std::move(gold);
    input.pred = std::move(pred);
  }

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  Value out = Value::object();
  std::vector<std::string> reports;
  for (const auto& name : metric_names) {
    if (out.contains(name)) continue;
    const auto& entry = registry.metric(name).entry;
    auto options = entry.make_options();
    auto metric = entry.make(*options, MetricContext{});
    Value result = metric->compute(input);
    if (result.is_object() && result.size() == 1 && result.as_object().front().first == name)
      out.set(name, result.as_object().front().second);
    else
      out.set(name, std::move(result));
    if (report) {
      std::string text = metric->report(input);
      if (!text.empty() && std::find(reports.begin(), reports.end(), text) == reports.end()) reports.push_back(text);
    }
  }
  std::cout << out.dump_json() << std::endl;
  for (const auto& text : reports) std::cerr << text << (text.back() == '\n' ? "" : "\n");
  return 0;
}

}  // namespace

GRAFT_CLI_COMMAND("score", "score predictions against gold files with registry metrics (labels, label sets, numbers, rankings, NER, QA)",
                  run_score);

}  // namespace graft::cli
