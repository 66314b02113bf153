#pragma once
// Small in-process stand-ins for the engine tests (silo, trainer): a whitespace tokenizer, a
// "text<TAB>label" processor, a bag-of-embeddings language model, a linear classification head
// and an accuracy metric. They implement the SDK interfaces exactly as plugins do.
#include <graft/core/files.h>
#include <graft/error.h>
#include <graft/language_model.h>
#include <graft/metric.h>
#include <graft/prediction_head.h>
#include <graft/processor.h>
#include <graft/tokenizer.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace graft::test {

class FakeTokenizer : public Tokenizer {
 public:
  std::vector<Encoding> encode(const TextInput& in, const EncodeOptions& o) const override {
    Encoding e;
    auto push = [&](int64_t id, const std::string& tok) {
      e.ids.push_back(id);
      e.type_ids.push_back(0);
      e.tokens.push_back(tok);
      e.offsets.emplace_back(0, 0);
      e.word_ids.push_back(-1);
      e.sequence_ids.push_back(-1);
      e.special_tokens_mask.push_back(1);
    };
    push(cls_id(), "[CLS]");
    std::istringstream is(in.text);
    std::string w;
    while (is >> w) {
      if (o.max_length > 0 && static_cast<int64_t>(e.ids.size()) >= o.max_length - 1) break;
      e.ids.push_back(token_to_id(w));
      e.type_ids.push_back(0);
      e.tokens.push_back(w);
      e.offsets.emplace_back(0, 0);
      e.word_ids.push_back(0);
      e.sequence_ids.push_back(0);
      e.special_tokens_mask.push_back(0);
    }
    push(sep_id(), "[SEP]");
    return {e};
  }
  std::string decode(const std::vector<int64_t>&, bool) const override { return {}; }
  int64_t vocab_size() const override { return 64; }
  int64_t token_to_id(std::string_view t) const override {
    uint64_t h = 1469598103934665603ULL;
    for (char c : t) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return 4 + static_cast<int64_t>(h % 60);
  }
  std::string id_to_token(int64_t id) const override { return std::to_string(id); }
  int64_t pad_id() const override { return 0; }
  int64_t unk_id() const override { return 1; }
  int64_t cls_id() const override { return 2; }
  int64_t sep_id() const override { return 3; }
  int64_t mask_id() const override { return 1; }
  int64_t num_special_tokens(bool pair) const override { return pair ? 3 : 2; }
  std::string kind() const override { return "fake"; }
};

/// "text<TAB>label" lines (no header). A line without a tab is a bad record; the text "BAD"
/// fails featurization.
class FakeProcessor : public Processor {
 public:
  DataFiles data;
  std::vector<std::string> label_list;
  int64_t max_len = 16;

  const DataFiles& files() const override { return data; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override {
    std::string text = core::read_file(path);
    std::vector<Basket> out;
    std::istringstream is(text);
    std::string line;
    int64_t n = 0;
    while (std::getline(is, line)) {
      ++n;
      if (line.empty()) continue;
      auto tab = line.find('\t');
      SourceLocation loc{path, n, 0};
      if (tab == std::string::npos) {
        problems.push_back(RecordProblem{loc, "expected 2 tab-separated columns (text, label), found 1"});
        continue;
      }
      Basket b;
      b.id = cat(path, ":", n);
      b.loc = loc;
      b.raw = Value::object();
      b.raw.set("text", line.substr(0, tab));
      b.raw.set("label", line.substr(tab + 1));
      out.push_back(std::move(b));
    }
    return out;
  }
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>&) const override {
    std::vector<Basket> out;
    for (size_t i = 0; i < dicts.size(); ++i) {
      Basket b;
      b.id = std::to_string(i);
      b.raw = dicts[i];
      out.push_back(std::move(b));
    }
    return out;
  }
  void featurize(Basket& b, const Tokenizer& tok) const override {
    const std::string& text = b.raw.at("text").as_string();
    if (text == "BAD") {
      b.problem = "text 'BAD' cannot be featurized";
      return;
    }
    EncodeOptions o;
    o.max_length = max_len;
    Sample s;
    s.id = b.id + "-0";
    s.encoding = tok.encode_one(TextInput::single(text), o);
    set_input_features(s, s.encoding);
    if (const Value* l = b.raw.find("label")) {
      int64_t idx = -1;
      for (size_t i = 0; i < label_list.size(); ++i)
        if (label_list[i] == l->as_string()) idx = static_cast<int64_t>(i);
      if (idx < 0) {
        b.problem = cat("unknown label '", l->as_string(), "'");
        return;
      }
      s.features[task() + "/label_ids"] = torch::tensor(idx, torch::kInt64);
    }
    b.samples.push_back(std::move(s));
  }
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tok) const override {
    Batch b;
    collate_inputs(samples, tok.pad_id(), b);
    if (samples[0]->features.count(task() + "/label_ids")) {
      std::vector<torch::Tensor> l;
      for (auto* s : samples) l.push_back(s->features.at(task() + "/label_ids"));
      b.tensors[task() + "/label_ids"] = torch::stack(l);
    }
    return b;
  }
  std::vector<std::string> labels() const override { return label_list; }
  std::string label_of(const Basket& b) const override {
    const Value* l = b.raw.find("label");
    return l ? l->as_string() : std::string();
  }
  int64_t max_seq_len() const override { return max_len; }
};

class FakeLM : public LanguageModel {
 public:
  explicit FakeLM(int64_t hidden = 8, double dropout = 0.0) : hidden_(hidden) {
    emb_ = register_module("word_embeddings", torch::nn::Embedding(64, hidden));
    norm_ = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden})));
    dense_ = register_module("dense", torch::nn::Linear(hidden, hidden));
    drop_ = register_module("dropout", torch::nn::Dropout(dropout));
  }
  LMOutput forward(const Batch& batch, const ForwardOptions&) override {
    auto x = norm_(emb_(batch.at("input_ids")));
    auto mask = batch.at("attention_mask").unsqueeze(-1).to(x.dtype());
    LMOutput o;
    o.sequence = drop_(x);
    o.pooled = torch::tanh(dense_((x * mask).sum(1) / mask.sum(1)));
    return o;
  }
  int64_t hidden_size() const override { return hidden_; }
  std::string base_model_prefix() const override { return "fake"; }
  std::string architecture_stem() const override { return "Fake"; }
  Value hf_config() const override {
    Value v = Value::object();
    v.set("model_type", "fake");
    v.set("hidden_size", hidden_);
    return v;
  }
  void init_weights() override {}

 private:
  int64_t hidden_;
  torch::nn::Embedding emb_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear dense_{nullptr};
  torch::nn::Dropout drop_{nullptr};
};

class FakeHead : public PredictionHead {
 public:
  FakeHead(std::string task, std::vector<std::string> labels, int64_t hidden)
      : task_(std::move(task)), labels_(std::move(labels)) {
    classifier_ = register_module("classifier", torch::nn::Linear(hidden, static_cast<int64_t>(labels_.size())));
  }
  torch::Tensor forward(const LMOutput& lm, const Batch&) override { return classifier_(lm.pooled); }
  torch::Tensor loss(const torch::Tensor& logits, const Batch& batch) override {
    return torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat32), batch.at(task_ + "/label_ids"),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
  Value format(const Basket&, const std::vector<torch::Tensor>& logits) const override {
    auto p = torch::softmax(logits.at(0).to(torch::kFloat32), -1);
    int64_t i = p.argmax().item<int64_t>();
    Value v = Value::object();
    v.set("label", labels_[static_cast<size_t>(i)]);
    v.set("probability", p[i].item<double>());
    return v;
  }
  Value prediction_for_metric(const Value& f) const override { return f.at("label"); }
  Value gold_for_metric(const Basket& b) const override { return b.raw.at("label"); }
  std::vector<std::string> labels() const override { return labels_; }
  void init_weights(double) override {}

 private:
  std::string task_;
  std::vector<std::string> labels_;
  torch::nn::Linear classifier_{nullptr};
};

class FakeAccuracy : public Metric {
 public:
  Value compute(const MetricInput& in) const override {
    int64_t ok = 0;
    for (size_t i = 0; i < in.gold.size(); ++i) ok += in.gold[i] == in.pred[i];
    Value v = Value::object();
    v.set("acc", in.gold.empty() ? 0.0 : static_cast<double>(ok) / static_cast<double>(in.gold.size()));
    return v;
  }
  std::string report(const MetricInput& in) const override { return cat("fake report over ", in.gold.size(), " rows\n"); }
};

/// Writes `n` lines "<words> <TAB> <label>" where label "pos" rows contain "good" words.
inline std::string write_toy_tsv(const std::string& path, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* pos[] = {"good", "great", "fine", "nice"};
  const char* neg[] = {"bad", "awful", "poor", "ugly"};
  const char* filler[] = {"the", "movie", "was", "plot", "actor", "very"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    bool p = rng() % 2;
    std::string text;
    int len = 3 + static_cast<int>(rng() % 6);
    for (int k = 0; k < len; ++k) {
      if (!text.empty()) text += ' ';
      text += (k == len / 2) ? (p ? pos[rng() % 4] : neg[rng() % 4]) : filler[rng() % 6];
    }
    out += text + "\t" + (p ? "pos" : "neg") + "\n";
  }
  core::write_file_atomic(path, out);
  return path;
}

}  // namespace graft::test
