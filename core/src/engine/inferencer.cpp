// Inferencer: dicts → baskets → length-sorted batches → per-input predictions.
#include <graft/core/data_silo.h>
#include <graft/core/evaluator.h>
#include <graft/core/inferencer.h>
#include <graft/error.h>

#include <sstream>

namespace graft::core {

Inferencer::Inferencer(ModelBundle bundle, InferOptions options) : bundle_(std::move(bundle)), opt_(std::move(options)) {
  GRAFT_CHECK(bundle_.model != nullptr, Error, "Inferencer: no model");
  bundle_.require_tokenizer();
}

Inferencer Inferencer::load(const std::string& dir, Registry& registry, const torch::Device& device, InferOptions options) {
  return Inferencer(load_model_dir(dir, registry, device), std::move(options));
}

std::vector<Value> Inferencer::infer_task(const std::vector<Value>& dicts, const std::string& task) {
  Processor& proc = bundle_.processor(task);
  std::vector<RecordProblem> problems;
  std::vector<Basket> baskets = proc.from_dicts(dicts, problems);
  if (!problems.empty()) {
    std::ostringstream os;
    for (size_t i = 0; i < problems.size() && i < 20; ++i)
      os << "\n  " << (problems[i].loc.str().empty() ? std::string("input") : problems[i].loc.str()) << ": "
         << problems[i].message;
    throw DataError(cat(problems.size(), " bad input", problems.size() == 1 ? "" : "s", " for task '", task, "':", os.str()));
  }
  GRAFT_CHECK(baskets.size() == dicts.size(), DataError, "task '", task, "': the processor made ", baskets.size(),
              " records from ", dicts.size(), " inputs");
  // Featurize here rather than through the silo: inference never skips an input (whatever
  // on_error the training recipe had); a bad one is an error naming its index.
  std::vector<std::string> bad;
  for (size_t i = 0; i < baskets.size(); ++i) {
    Basket& b = baskets[i];
    try {
      proc.featurize(b, *bundle_.tokenizer);
      if (b.problem.empty() && b.samples.empty()) b.problem = "produced no samples";
    } catch (const Error& e) {
      b.problem = e.what();
    }
    if (!b.problem.empty()) bad.push_back(cat("input ", i, ": ", b.problem));
  }
  if (!bad.empty()) {
    std::string msg;
    for (size_t i = 0; i < bad.size() && i < 20; ++i) msg += "\n  " + bad[i];
    throw DataError(cat(bad.size(), " input(s) for task '", task, "' could not be featurized:", msg));
  }
  std::vector<Basket>& work = baskets;
  PredictOptions po;
  po.batch_size = opt_.batch_size;
  po.precision = opt_.precision;
  auto preds = predict_baskets(*bundle_.model, task, proc, *bundle_.tokenizer, work, po);
  return std::move(preds.formatted);
}

std::vector<Value> Inferencer::infer(const std::vector<Value>& dicts, const std::string& task) {
  if (dicts.empty()) return {};
  if (!task.empty() || bundle_.tasks.size() == 1) return infer_task(dicts, bundle_.task(task).name);
  std::vector<Value> out(dicts.size(), Value::object());
  for (const auto& t : bundle_.tasks) {
    auto preds = infer_task(dicts, t.name);
    for (size_t i = 0; i < dicts.size(); ++i) out[i].set(t.name, preds[i]);
  }
  return out;
}

std::vector<Value> Inferencer::infer_texts(const std::vector<std::string>& texts, const std::vector<std::string>& pairs,
                                           const std::string& task) {
  GRAFT_CHECK(pairs.empty() || pairs.size() == texts.size(), ConfigError, "got ", texts.size(), " texts but ",
              pairs.size(), " text pairs; give one pair per text");
  std::vector<Value> dicts;
  for (size_t i = 0; i < texts.size(); ++i) {
    Value d = Value::object();
    d.set("text", texts[i]);
    if (!pairs.empty()) d.set("text_b", pairs[i]);
    dicts.push_back(std::move(d));
  }
  return infer(dicts, task);
}

}  // namespace graft::core
