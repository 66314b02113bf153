#include "head.h"

#include "conll_processor.h"
#include "seqeval.h"

#include <graft/error.h>

#include <map>
#include <set>

namespace graft::plugins::token_classification {

namespace F = torch::nn::functional;

void HeadOptions::visit(OptionVisitor& v) {
  v.optional("labels", labels,
             "tag names in index order; empty = the processor's tags (or config.json id2label when loading a Hugging "
             "Face *ForTokenClassification checkpoint)");
  v.optional("dropout", dropout,
             "dropout before the classifier; -1 = the language model's classifier_dropout or hidden_dropout_prob "
             "(config.json), else 0.1");
  v.optional("aggregation", aggregation,
             "which sub-tokens decide a word's tag: \"first\" (the first sub-token, as trained) or \"average\" (mean "
             "of the probabilities of all its sub-tokens)",
             one_of({"first", "average"}));
}

void HeadOptions::check(Diagnostics& d) const {
  if (dropout != -1.0 && (dropout < 0.0 || dropout >= 1.0))
    d.error("dropout", cat("must be in [0, 1) or -1 (take it from the language model config), got ", dropout));
  std::set<std::string> seen;
  for (const auto& l : labels)
    if (!seen.insert(l).second) d.error("labels", cat("label '", l, "' is listed twice"));
}

namespace {

std::vector<std::string> labels_from_id2label(const Value& config) {
  const Value* map = config.find("id2label");
  if (!map || map->is_null()) return {};
  GRAFT_CHECK(map->is_object(), FormatError, "config.json: id2label must be an object {\"0\": label, ...}");
  std::map<int64_t, std::string> by_id;
  for (const auto& [key, value] : map->as_object()) {
    int64_t id = -1;
    try {
      size_t used = 0;
      id = std::stoll(key, &used);
      if (used != key.size()) id = -1;
    } catch (const std::exception&) {
      id = -1;
    }
    GRAFT_CHECK(id >= 0 && value.is_string(), FormatError, "config.json: id2label entry '", key,
                "' must map a non-negative integer to a label string");
    by_id[id] = value.as_string();
  }
  std::vector<std::string> out;
  for (const auto& [id, label] : by_id) {
    GRAFT_CHECK(id == static_cast<int64_t>(out.size()), FormatError, "config.json: id2label ids must be 0..",
                by_id.size() - 1, " without gaps; id ", out.size(), " is missing");
    out.push_back(label);
  }
  return out;
}

}  // namespace

TokenClassificationHead::TokenClassificationHead(const HeadOptions& options, const HeadContext& context)
    : task_(context.task), aggregation_(options.aggregation) {
  Diagnostics d;
  options.check(d);
  if (!d.ok()) throw ConfigError(cat("token_classification head options:\n", d.format()));
  if (!context.labels.empty()) labels_ = context.labels;
  else if (!options.labels.empty()) labels_ = options.labels;
  else labels_ = labels_from_id2label(context.hf_config);
  GRAFT_CHECK(!labels_.empty(), ConfigError, "token_classification head",
              task_.empty() ? "" : " of task '" + task_ + "'",
              ": no labels; give `labels` in the recipe, or train data from which the processor collects them");
  GRAFT_CHECK(context.hidden_size > 0, ConfigError, "token_classification head: the language model's hidden size is ",
              context.hidden_size, "; expected a positive number");
  if (options.dropout >= 0.0) {
    dropout_p_ = options.dropout;
  } else {
    const Value* cd = context.hf_config.find("classifier_dropout");
    const Value* hd = context.hf_config.find("hidden_dropout_prob");
    if (cd && cd->is_number()) dropout_p_ = cd->as_double();
    else if (hd && hd->is_number()) dropout_p_ = hd->as_double();
    else dropout_p_ = 0.1;
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(torch::nn::DropoutOptions(dropout_p_)));
  classifier_ = register_module("classifier",
                                torch::nn::Linear(context.hidden_size, static_cast<int64_t>(labels_.size())));
}

torch::Tensor TokenClassificationHead::forward(const LMOutput& lm, const Batch& batch) {
  (void)batch;
  return classifier_(dropout_(lm.sequence));  // [B, T, L]
}

torch::Tensor TokenClassificationHead::loss(const torch::Tensor& logits, const Batch& batch) {
  torch::Tensor gold = batch.at(label_key()).to(logits.device());  // [B, T'] (-100 = ignored)
  const int64_t B = logits.size(0), T = logits.size(1), L = logits.size(2);
  GRAFT_CHECK(gold.size(0) == B && gold.size(1) == T, Error, "token_classification: label_ids have shape ",
              gold.sizes(), " but the logits are [", B, ", ", T, ", ", L, "]");
  auto per_token = F::cross_entropy(logits.reshape({-1, L}), gold.reshape({-1}),
                                    F::CrossEntropyFuncOptions().reduction(torch::kNone).ignore_index(-100));
  auto active = (gold != -100).sum().clamp_min(1).to(per_token.scalar_type());
  // Rows sum their tokens; scaling by B / active makes the trainer's mean over rows equal HF's
  // mean over every labelled token of the batch.
  return per_token.reshape({B, T}).sum(1) * static_cast<double>(B) / active;
}

Value TokenClassificationHead::format(const Basket& basket, const std::vector<torch::Tensor>& logits) const {
  GRAFT_CHECK(logits.size() == basket.samples.size(), Error, "token_classification: ", logits.size(),
              " logits for ", basket.samples.size(), " windows of input ", basket.id);
  const auto& words = basket.raw.at("words").as_array();
  const std::string& text = basket.raw.at("text").as_string();
  const auto& word_offsets = basket.raw.at("word_offsets").as_array();
  const size_t n_words = words.size();
  const int64_t L = static_cast<int64_t>(labels_.size());
  // Per word: the window whose first sub-token of the word sits farthest from the window's edges.
  std::vector<torch::Tensor> word_probs(n_words);
  std::vector<int64_t> best_margin(n_words, -1);
  std::map<int64_t, int64_t> min_start;
  for (const auto& smp : basket.samples)
    for (size_t t = 0; t < smp.encoding.size(); ++t)
      if (int64_t wid = smp.encoding.word_ids[t]; wid >= 0) {
        auto [it, inserted] = min_start.emplace(wid, smp.encoding.offsets[t].first);
        if (!inserted) it->second = std::min(it->second, smp.encoding.offsets[t].first);
      }
  for (size_t w = 0; w < logits.size(); ++w) {
    const Encoding& e = basket.samples[w].encoding;
    const int64_t n = static_cast<int64_t>(e.size());
    torch::Tensor probs = torch::softmax(logits[w].to(torch::kFloat64).slice(0, 0, n), -1);  // [n, L]
    std::map<int64_t, std::vector<int64_t>> pieces;
    for (int64_t t = 0; t < n; ++t)
      if (e.word_ids[static_cast<size_t>(t)] >= 0) pieces[e.word_ids[static_cast<size_t>(t)]].push_back(t);
    for (const auto& [wid, toks] : pieces) {
      if (wid >= static_cast<int64_t>(n_words)) continue;
      const int64_t first = toks.front();
      // a word cut at the window start is not complete here
      if (e.offsets[static_cast<size_t>(first)].first != min_start[wid]) continue;
      const int64_t margin = std::min(first, n - 1 - toks.back());
      if (margin <= best_margin[static_cast<size_t>(wid)]) continue;
      best_margin[static_cast<size_t>(wid)] = margin;
      if (aggregation_ == "average") {
        torch::Tensor idx = torch::tensor(toks, torch::kInt64);
        word_probs[static_cast<size_t>(wid)] = probs.index_select(0, idx).mean(0);
      } else {
        word_probs[static_cast<size_t>(wid)] = probs[first];
      }
    }
  }
  std::vector<std::string> tags(n_words, "O");
  std::vector<double> scores(n_words, 0.0);
  for (size_t i = 0; i < n_words; ++i) {
    if (!word_probs[i].defined()) continue;  // the word produced no tokens
    torch::Tensor p = word_probs[i].clone();
    if (L > 0) {
      // FARM's "X" is not a tag of a word
      for (int64_t k = 0; k < L; ++k)
        if (labels_[static_cast<size_t>(k)] == "X") p[k] = -1.0;
      int64_t best = p.argmax().item<int64_t>();
      tags[i] = labels_[static_cast<size_t>(best)];
      scores[i] = p[best].item<double>();
    }
  }
  Value entities = Value::array();
  for (const Chunk& c : default_chunks({tags})) {
    if (c.end >= static_cast<int64_t>(n_words)) continue;
    const auto& so = word_offsets[static_cast<size_t>(c.start)].as_array();
    const auto& eo = word_offsets[static_cast<size_t>(c.end)].as_array();
    const int64_t b = so[0].as_int(), e = eo[1].as_int();
    double score = 0;
    for (int64_t k = c.start; k <= c.end; ++k) score += scores[static_cast<size_t>(k)];
    score /= static_cast<double>(c.end - c.start + 1);
    Value ent = Value::object();
    ent.set("type", c.type);
    ent.set("text", text.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)));
    ent.set("start", char_offset(text, b));
    ent.set("end", char_offset(text, e));
    ent.set("score", score);
    ent.set("first_word", c.start);
    ent.set("last_word", c.end);
    entities.push_back(std::move(ent));
  }
  Value out = Value::object();
  out.set("words", Value(words));
  out.set("tags", Value(tags));
  out.set("scores", Value(scores));
  out.set("entities", std::move(entities));
  return out;
}

Value TokenClassificationHead::gold_for_metric(const Basket& basket) const {
  const Value* t = basket.raw.find("tags");
  GRAFT_CHECK(t && t->is_array(), DataError, basket.loc.str().empty() ? basket.id : basket.loc.str(),
              ": the sentence has no gold tags to evaluate against");
  return *t;
}

HfHeadExport TokenClassificationHead::hf_export() const {
  HfHeadExport e;
  e.architecture_suffix = "ForTokenClassification";
  Value id2label = Value::object(), label2id = Value::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    id2label.set(std::to_string(i), labels_[i]);
    label2id.set(labels_[i], static_cast<int64_t>(i));
  }
  e.config = Value::object();
  e.config.set("id2label", std::move(id2label));
  e.config.set("label2id", std::move(label2id));
  return e;
}

void TokenClassificationHead::init_weights(double initializer_range) {
  torch::NoGradGuard guard;
  classifier_->weight.normal_(0.0, initializer_range);
  classifier_->bias.zero_();
}

}  // namespace graft::plugins::token_classification
