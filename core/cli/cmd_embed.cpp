// graft embed MODEL (--file F | --text T...) --out OUT.safetensors|OUT.jsonl
//   [--pooling cls|mean|max|pooled] [--layer N] [--max-seq-len N] [--batch-size N] [--normalize]
// Sentence embeddings from a language model's hidden states (issue 5, task 8): one vector per
// input, in input order. mean/max pool over the real tokens of the input only — padding and the
// special tokens the tokenizer added ([CLS], [SEP], <s>, </s>) are excluded.
#include "cli.h"

#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/model_loader.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/core/tokenizers.h>
#include <graft/core/weights.h>
#include <graft/error.h>
#include <graft/types.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

/// One text per line, or a JSON object {"text": ...} per line; blank lines are skipped.
std::vector<std::string> read_texts(const std::string& path) {
  std::string content = core::read_file(path);
  int64_t bad = core::find_invalid_utf8(content);
  GRAFT_CHECK(bad < 0, DataError, path, ": not valid UTF-8 (byte ", bad, ")");
  std::vector<std::string> out;
  std::istringstream is(content);
  std::string line;
  int64_t n = 0;
  while (std::getline(is, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (line[first] == '{') {
      Value v = core::parse_json(line, cat(path, ":", n));
      const Value* t = v.is_object() ? v.find("text") : nullptr;
      GRAFT_CHECK(t && t->is_string() && !t->as_string().empty(), DataError, path, ":", n,
                  ": expected a JSON object with a non-empty \"text\" string");
      out.push_back(t->as_string());
    } else {
      out.push_back(line);
    }
  }
  GRAFT_CHECK(!out.empty(), DataError, path, ": no inputs (expected one text or JSON object per line)");
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run_embed(CliContext& ctx, const std::vector<std::string>& args) {
  std::string model_dir, file, out_path, pooling = "mean";
  std::vector<std::string> texts;
  int64_t layer = -1, max_seq_len = 512, batch_size = 32;
  bool normalize = false;
  po::options_description visible(
      "usage: graft embed MODEL (--file F | --text T...) --out OUT.safetensors|OUT.jsonl [options]\n\n"
      "Embeds each input with MODEL's language model (a directory saved by graft train or any Hugging\n"
      "Face model directory with tokenizer files) and writes one vector per input, in input order:\n"
      "OUT.safetensors holds the float32 tensor \"embeddings\" [inputs, hidden]; OUT.jsonl one line\n"
      "{\"index\", \"text\", \"embedding\"} per input. mean and max pool over the input's own tokens\n"
      "(padding and the tokenizer's special tokens such as [CLS]/[SEP] are left out).\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("text", po::value(&texts)->value_name("T")->composing(), "input text (repeatable)")
      ("file", po::value(&file)->value_name("F"), "inputs, one per line: plain text or a JSON object {\"text\": ...}")
      ("out", po::value(&out_path)->value_name("OUT"), "output file, .safetensors or .jsonl (written atomically)")
      ("pooling", po::value(&pooling)->value_name("P"),
       "cls (the first token's vector) | mean (default) | max | pooled (the model's pooler output, e.g. BERT's "
       "tanh(dense([CLS])); last layer only)")
      ("layer", po::value(&layer)->value_name("N"),
       "hidden state to pool: 0 = the embedding output, 1..L = after encoder layer N, negative counts from the "
       "end (default -1 = the last layer)")
      ("max-seq-len", po::value(&max_seq_len)->value_name("N"), "tokens per input incl. special tokens; longer "
       "inputs are truncated (default 512)")
      ("batch-size", po::value(&batch_size)->value_name("N"), "inputs per forward pass (default 32)")
      ("normalize", po::bool_switch(&normalize), "L2-normalise each vector");
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
    throw ConfigError(cat("graft embed: ", e.what(), " (see graft embed --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (model_dir.empty()) throw ConfigError("graft embed: MODEL is required (see graft embed --help)");
  if (texts.empty() && file.empty()) throw ConfigError("graft embed: give --file F or --text T");
  if (out_path.empty()) throw ConfigError("graft embed: --out OUT.safetensors|OUT.jsonl is required");
  const bool jsonl = ends_with(out_path, ".jsonl");
  if (!jsonl && !ends_with(out_path, ".safetensors"))
    throw ConfigError(cat("graft embed: --out '", out_path, "' must end in .safetensors or .jsonl"));
  if (pooling != "cls" && pooling != "mean" && pooling != "max" && pooling != "pooled")
    throw ConfigError(cat("graft embed: --pooling '", pooling, "' is not one of cls, mean, max, pooled"));
  if (batch_size < 1) throw ConfigError(cat("graft embed: --batch-size must be >= 1, got ", batch_size));
  if (max_seq_len < 3) throw ConfigError(cat("graft embed: --max-seq-len must be >= 3, got ", max_seq_len));
  for (size_t i = 0; i < texts.size(); ++i)
    if (texts[i].find_first_not_of(" \t\r\n") == std::string::npos)
      throw ConfigError(cat("graft embed: --text number ", i + 1, " is empty"));
  if (!file.empty())
    for (auto& t : read_texts(file)) texts.push_back(std::move(t));

  core::Registry& registry = core::Registry::global(ctx.plugin_paths);
  const torch::Device device = core::resolve_device(ctx.runtime.device);
  core::LoadedModel loaded = core::load_pretrained(model_dir, registry);
  std::shared_ptr<Tokenizer> tokenizer = core::load_tokenizer(model_dir);
  LanguageModel& lm = *loaded.model;
  lm.to(device);
  lm.eval();
  const int64_t n_layers = loaded.config.get_int("num_hidden_layers", -1);
  const bool last_layer = layer == -1 || (n_layers >= 0 && layer == n_layers);
  if (!last_layer) {
    GRAFT_CHECK(n_layers >= 0, ConfigError, "graft embed: ", model_dir,
                "/config.json has no num_hidden_layers; only --layer -1 (the last) can be used");
    int64_t resolved = layer < 0 ? n_layers + 1 + layer : layer;
    GRAFT_CHECK(resolved >= 0 && resolved <= n_layers, ConfigError, "graft embed: --layer ", layer,
                " is outside the model's hidden states 0..", n_layers, " (or -", n_layers + 1, "..-1)");
    layer = resolved;
  }
  if (pooling == "pooled" && !last_layer)
    throw ConfigError("graft embed: --pooling pooled uses the last layer's pooler; drop --layer or pick cls/mean/max");
  const bool pooler_missing = std::any_of(loaded.report.missing.begin(), loaded.report.missing.end(),
                                          [](const std::string& m) { return m.rfind("pooler.", 0) == 0; });
  if (pooling == "pooled" && pooler_missing)
    throw ConfigError(cat("graft embed: ", loaded.weights_file,
                          " has no pooler weights (the checkpoint was saved without a pooler); use cls, mean or max"));

  EncodeOptions eo;
  eo.max_length = max_seq_len;
  eo.truncation = Truncation::longest_first;
  std::vector<torch::Tensor> vectors;
  torch::NoGradGuard ng;
  for (size_t start = 0; start < texts.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(texts.size(), start + static_cast<size_t>(batch_size));
    std::vector<Sample> samples(end - start);
    std::vector<const Sample*> ptrs;
    std::vector<torch::Tensor> keep;  // 1 for the input's own tokens
    for (size_t i = start; i < end; ++i) {
      Sample& s = samples[i - start];
      s.encoding = tokenizer->encode_one(TextInput::single(texts[i]), eo);
      set_input_features(s, s.encoding);
      std::vector<int64_t> own;
      for (size_t t = 0; t < s.encoding.size(); ++t)
        own.push_back(t < s.encoding.special_tokens_mask.size() && s.encoding.special_tokens_mask[t] ? 0 : 1);
      keep.push_back(torch::tensor(own, torch::kInt64));
      ptrs.push_back(&s);
    }
    Batch batch;
    collate_inputs(ptrs, tokenizer->pad_id(), batch);
    torch::Tensor own = pad_stack(keep, 0.0).to(torch::kBool);
    Batch dev = batch.to(device);
    ForwardOptions fo;
    fo.output_hidden_states = !last_layer;
    LMOutput out = lm.forward(dev, fo);
    torch::Tensor h = last_layer ? out.sequence : out.hidden_states.at(static_cast<size_t>(layer));
    h = h.to(torch::kCPU, torch::kFloat32);
    torch::Tensor v;
    if (pooling == "cls") {
      v = h.select(1, 0);
    } else if (pooling == "pooled") {
      GRAFT_CHECK(out.pooled.defined(), ConfigError, "graft embed: the ", loaded.registry_name,
                  " model has no pooler output; use cls, mean or max");
      v = out.pooled.to(torch::kCPU, torch::kFloat32);
    } else {
      torch::Tensor mask = own.unsqueeze(-1);  // [B, T, 1]
      torch::Tensor count = mask.sum(1);       // [B, 1]
      for (int64_t r = 0; r < count.size(0); ++r)
        GRAFT_CHECK(count[r].item<int64_t>() > 0, DataError, "graft embed: input ", start + r + 1,
                    " has no tokens of its own after tokenization (only special tokens); cannot ", pooling, "-pool it");
      if (pooling == "mean")
        v = (h * mask.to(h.scalar_type())).sum(1) / count.to(h.scalar_type());
      else
        v = std::get<0>(h.masked_fill(~mask, -std::numeric_limits<float>::infinity()).max(1));
    }
    if (normalize) v = v / v.norm(2, {1}, true).clamp_min(1e-12);
    vectors.push_back(v.contiguous());
  }
  torch::Tensor all_vectors = torch::cat(vectors, 0).contiguous();
  std::filesystem::path parent = std::filesystem::path(out_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  if (jsonl) {
    std::string text;
    const float* p = all_vectors.data_ptr<float>();
    const int64_t dim = all_vectors.size(1);
    for (int64_t i = 0; i < all_vectors.size(0); ++i) {
      Value row = Value::object();
      row.set("index", i);
      row.set("text", texts[static_cast<size_t>(i)]);
      std::vector<double> e(p + i * dim, p + (i + 1) * dim);
      row.set("embedding", Value(e));
      text += row.dump_json() + "\n";
    }
    core::write_file_atomic(out_path, text);
  } else {
    core::StateDict sd;
    sd.set("embeddings", all_vectors);
    core::write_safetensors(out_path, sd,
                            {{"format", "pt"}, {"pooling", pooling}, {"layer", std::to_string(layer)},
                             {"normalized", normalize ? "true" : "false"}});
  }
  std::cerr << "embedded " << all_vectors.size(0) << " inputs (" << all_vectors.size(1) << " dimensions, " << pooling
            << " pooling" << (last_layer ? "" : cat(", layer ", layer)) << ") → " << out_path << "\n";
  return 0;
}

GRAFT_CLI_COMMAND("embed", "embed texts with a model's encoder (cls/mean/max/pooled) into .safetensors or .jsonl",
                  run_embed);

}  // namespace
}  // namespace graft::cli
