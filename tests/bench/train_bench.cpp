// bench_train: training steps/s of a small BERT sequence classifier (built from config through
// the registry, text_classification head) at fp32 and under bf16 CPU autocast.
//
//   bench_train [--steps N] [--batch B] [--seq T] [--hidden H] [--layers L] [--threads N]
#include <graft/core/adaptive_model.h>
#include <graft/core/model_loader.h>
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/core/trainer.h>
#include <graft/error.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

using namespace graft;
using namespace graft::core;

int main(int argc, char** argv) {
  int64_t steps = 10, batch = 16, seq = 128, hidden = 256, layers = 4, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int64_t v = std::stoll(argv[i + 1]);
    if (a == "--steps") steps = v;
    else if (a == "--batch") batch = v;
    else if (a == "--seq") seq = v;
    else if (a == "--hidden") hidden = v;
    else if (a == "--layers") layers = v;
    else if (a == "--threads") threads = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  try {
    RuntimeOptions ro;
    ro.threads = static_cast<int>(threads);
    ro.log_level = "warn";
    init_runtime(ro);
    Registry& reg = Registry::global({GRAFT_PLUGIN_BUILD_DIR});
    std::printf("bench_train: BERT hidden %lld, %lld layers, batch %lld x %lld tokens, %d threads, %lld steps\n",
                (long long)hidden, (long long)layers, (long long)batch, (long long)seq, at::get_num_threads(), (long long)steps);
    double rate[2] = {0, 0};
    const char* precisions[2] = {"fp32", "bf16"};
    for (int pi = 0; pi < 2; ++pi) {
      torch::manual_seed(0);
      Value cfg = Value::object();
      cfg.set("vocab_size", int64_t{30000});
      cfg.set("hidden_size", hidden);
      cfg.set("num_hidden_layers", layers);
      cfg.set("num_attention_heads", hidden / 64);
      cfg.set("intermediate_size", hidden * 4);
      cfg.set("max_position_embeddings", std::max<int64_t>(512, seq));
      auto lm = build_from_config(cfg, "bert", reg);
      const auto& he = reg.head("text_classification").entry;
      auto ho = he.make_options();
      HeadContext hc;
      hc.task = "t";
      hc.hidden_size = lm->hidden_size();
      hc.model_type = "bert";
      hc.labels = {"a", "b"};
      hc.hf_config = lm->hf_config();
      auto head = he.make(*ho, hc);
      head->init_weights(0.02);
      AdaptiveModel model(lm, {TaskHead{"t", head, 1.0}});
      TrainerOptions o;
      o.training.precision = precisions[pi];
      o.optimizer.lr = 1e-4;
      o.schedule.type = "constant";
      o.schedule.warmup = 0;
      Trainer tr(model, o);
      tr.set_total_steps(steps + 1);
      Batch b;
      b.tensors["input_ids"] = torch::randint(5, 30000, {batch, seq}, torch::kLong);
      b.tensors["attention_mask"] = torch::ones({batch, seq}, torch::kLong);
      b.tensors["token_type_ids"] = torch::zeros({batch, seq}, torch::kLong);
      b.tensors["t/label_ids"] = torch::randint(0, 2, {batch}, torch::kLong);
      tr.train_step({TaskBatch{"t", b}});  // warm-up (allocations, oneDNN kernels)
      auto t0 = std::chrono::steady_clock::now();
      double loss = 0;
      for (int64_t s = 0; s < steps; ++s) loss = tr.train_step({TaskBatch{"t", b}}).loss;
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rate[pi] = static_cast<double>(steps) / sec;
      std::printf("  %s: %.3f steps/s (%.1f ms/step), last loss %.4f\n", precisions[pi], rate[pi], 1000.0 / rate[pi], loss);
    }
    std::printf("  bf16 / fp32 speed ratio: %.2fx\n", rate[1] / rate[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
