// graft infer MODEL --text T... [--text-pair P]... [--file F] [--task NAME]
// One JSON object per input per line on stdout (label, probability, probabilities for
// classification), in input order.
#include "cli.h"

#include <graft/core/files.h>
#include <graft/core/inferencer.h>
#include <graft/core/json.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/error.h>

#include <boost/program_options.hpp>

#include <iostream>
#include <sstream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

/// --file: JSON lines ({"text": ..., "text_b": ...}) when a line starts with '{', else one
/// text per line. Blank lines are skipped.
std::vector<Value> read_inputs(const std::string& path) {
  std::string content = core::read_file(path);
  int64_t bad = core::find_invalid_utf8(content);
  GRAFT_CHECK(bad < 0, DataError, path, ": not valid UTF-8 (byte ", bad, ")");
  std::vector<Value> out;
  std::istringstream is(content);
  std::string line;
  int64_t n = 0;
  while (std::getline(is, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line[line.find_first_not_of(" \t")] == '{') {
      Value v = core::parse_json(line, cat(path, ":", n));
      GRAFT_CHECK(v.is_object(), DataError, path, ":", n, ": expected a JSON object");
      out.push_back(std::move(v));
    } else {
      Value v = Value::object();
      v.set("text", line);
      out.push_back(std::move(v));
    }
  }
  GRAFT_CHECK(!out.empty(), DataError, path, ": no inputs (expected one text or JSON object per line)");
  return out;
}

int run_infer(CliContext& ctx, const std::vector<std::string>& args) {
  std::string model_dir, file, task, precision = "fp32";
  std::vector<std::string> texts, pairs;
  int64_t batch_size = 32;
  po::options_description visible(
      "usage: graft infer MODEL --text T... [--text-pair P]... [--file F] [--task NAME]\n\n"
      "Predicts with MODEL (a directory saved by graft train, or a Hugging Face *For<Task>\n"
      "checkpoint). Prints one JSON object per input per line, in input order: for classification\n"
      "{\"label\", \"probability\", \"probabilities\"}; for a model with several tasks an object\n"
      "keyed by task (unless --task).\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("text", po::value(&texts)->value_name("T")->composing(), "input text (repeatable)")
      ("text-pair", po::value(&pairs)->value_name("P")->composing(), "second text for each --text (text-pair tasks)")
      ("file", po::value(&file)->value_name("F"), "inputs, one per line: plain text or a JSON object {\"text\": ...}")
      ("task", po::value(&task)->value_name("NAME"), "only this task")
      ("batch-size", po::value(&batch_size)->value_name("N"), "inputs per batch (default 32)")
      ("precision", po::value(&precision)->value_name("P"), "fp32 | bf16 (default fp32)");
  po::options_description hidden;
  hidden.add_options()("model", po::value(&model_dir), "model directory");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft infer: ", e.what(), " (see graft infer --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (model_dir.empty()) throw ConfigError("graft infer: MODEL is required (see graft infer --help)");
  if (texts.empty() && file.empty()) throw ConfigError("graft infer: give --text T (repeatable) or --file F");
  if (!pairs.empty() && pairs.size() != texts.size())
    throw ConfigError(cat("graft infer: ", texts.size(), " --text but ", pairs.size(), " --text-pair; give one pair per text"));
  if (batch_size < 1) throw ConfigError(cat("graft infer: --batch-size must be >= 1, got ", batch_size));

  std::vector<Value> dicts;
  for (size_t i = 0; i < texts.size(); ++i) {
    Value d = Value::object();
    d.set("text", texts[i]);
    if (!pairs.empty()) d.set("text_b", pairs[i]);
    dicts.push_back(std::move(d));
  }
  if (!file.empty())
    for (auto& v : read_inputs(file)) dicts.push_back(std::move(v));

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  const torch::Device device = core::resolve_device(ctx.runtime.device);
  core::check_precision(precision, device);
  core::InferOptions io;
  io.batch_size = batch_size;
  io.precision = precision;
  auto inf = core::Inferencer::load(model_dir, registry, device, io);
  for (const auto& p : inf.infer(dicts, task)) std::cout << p.dump_json() << "\n";
  return 0;
}

GRAFT_CLI_COMMAND("infer", "predict with a saved model (one JSON line per input)", run_infer);

}  // namespace
}  // namespace graft::cli
