// graft score METRIC... --gold FILE --pred FILE [--labels a,b,c] [--report]
// Scores predicted labels against gold labels (one per line) with registry metrics and prints
// one JSON object keyed by metric name.
#include "cli.h"

#include <graft/core/files.h>
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

/// One label per line; a final newline is optional, CRLF and a UTF-8 BOM are accepted.
std::vector<std::string> read_label_file(const std::string& path, const std::vector<std::string>& allowed,
                                         const std::string& allowed_text) {
  std::string text = core::read_file(path);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  if (int64_t bad = core::find_invalid_utf8(text); bad >= 0) {
    int64_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
    throw DataError(cat(path, ":", line, ": invalid UTF-8; the file must be UTF-8 encoded"));
  }
  std::vector<std::string> labels;
  size_t start = 0;
  int64_t line = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line;
    std::string label = trim(text.substr(start, end - start));
    if (label.empty()) throw DataError(cat(path, ":", line, ": empty line; expected one label per line"));
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), label) == allowed.end())
      throw DataError(cat(path, ":", line, ": label '", label, "' is not in --labels (", allowed_text, ")"));
    labels.push_back(std::move(label));
    start = end + 1;
  }
  if (labels.empty()) throw DataError(cat(path, ": no labels; expected one label per line"));
  return labels;
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
  std::string gold_path, pred_path, labels_spec;
  bool report = false;
  po::options_description visible(
      "usage: graft score METRIC... --gold FILE --pred FILE [--labels a,b,c] [--report]\n\n"
      "Scores predicted labels against gold labels (one label per line, same order; surrounding\n"
      "whitespace is ignored) with the named metrics (e.g. acc f1_macro mcc acc_f1) and prints one\n"
      "JSON object keyed by metric name to stdout.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("gold", po::value(&gold_path)->value_name("FILE"), "gold labels, one per line")
      ("pred", po::value(&pred_path)->value_name("FILE"), "predicted labels, one per line")
      ("labels", po::value(&labels_spec)->value_name("a,b,c"),
       "label list fixing the class order (and the classes of macro averages); every label in both files must be "
       "in it. Default: the sorted union of the labels found")
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
  if (gold_path.empty()) throw ConfigError("graft score: --gold FILE is required");
  if (pred_path.empty()) throw ConfigError("graft score: --pred FILE is required");

  MetricInput input;
  std::string allowed_text;
  if (vm.count("labels")) {
    input.labels = parse_label_list(labels_spec);
    for (size_t i = 0; i < input.labels.size(); ++i) allowed_text += (i ? ", " : "") + input.labels[i];
  }
  auto gold = read_label_file(gold_path, input.labels, allowed_text);
  auto pred = read_label_file(pred_path, input.labels, allowed_text);
  if (gold.size() != pred.size())
    throw DataError(cat("--gold ", gold_path, " has ", gold.size(), " labels but --pred ", pred_path, " has ",
                        pred.size(), "; both need one label per line for the same inputs"));
  for (auto& g : gold) input.gold.emplace_back(std::move(g));
  for (auto& p : pred) input.pred.emplace_back(std::move(p));

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

GRAFT_CLI_COMMAND("score", "score predicted labels against gold labels with registry metrics", run_score);

}  // namespace graft::cli
