// bench_preprocess: featurization rows/s on 1 and 2 threads (NSMC with tsv_classification +
// the kcbert-base tokenizer; CoNLL-2003 with the conll processor + bert-base-cased when the
// token_classification plugin is built), and feature-cache store / hit times.
// Usage: build/bin/bench_preprocess [max_rows]   (needs ../shared/data; 0 = every row)
#include <graft/core/data_silo.h>
#include <graft/core/feature_cache.h>
#include <graft/core/options_io.h>
#include <graft/core/registry.h>
#include <graft/core/runtime.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>
#include <graft/log.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

using namespace graft;
using namespace graft::core;
namespace fs = std::filesystem;

namespace {

double secs(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::shared_ptr<Processor> make_processor(Registry& reg, const std::string& type, const Value& table) {
  const auto& entry = reg.processor(type).entry;
  auto opts = entry.make_options();
  Diagnostics d;
  read_options(*opts, table, d);
  GRAFT_CHECK(d.ok(), ConfigError, "bench: bad ", type, " options: ", d.format());
  return entry.make(*opts, ProcessorContext{""});
}

void bench(const std::string& name, Registry& reg, const std::string& type, Value table, const std::string& tok_dir,
           const std::string& train, int64_t max_rows) {
  auto tok = load_tokenizer(tok_dir);
  table.set("train", train);
  table.set("on_error", "skip");
  if (max_rows > 0) table.set("max_samples", max_rows);
  auto proc = make_processor(reg, type, table);
  proc->set_task("t");
  std::vector<RecordProblem> problems;
  auto t0 = std::chrono::steady_clock::now();
  auto baskets = proc->read(train, problems);
  if (max_rows > 0 && static_cast<int64_t>(baskets.size()) > max_rows) baskets.resize(static_cast<size_t>(max_rows));
  double read_s = secs(t0);
  proc->prepare(baskets);
  std::printf("%s: %zu records read in %.2f s (%.0f rows/s)\n", name.c_str(), baskets.size(), read_s,
              static_cast<double>(baskets.size()) / read_s);
  for (int threads : {1, 2}) {
    auto copy = baskets;
    SiloOptions so;
    so.threads = threads;
    DataSilo silo(tok, so);
    int64_t skipped = 0;
    auto t1 = std::chrono::steady_clock::now();
    silo.featurize(copy, *proc, name, &skipped);
    double s = secs(t1);
    std::printf("%s: featurize %zu records on %d thread%s: %.2f s, %.0f rows/s\n", name.c_str(), baskets.size(), threads,
                threads == 1 ? "" : "s", s, static_cast<double>(baskets.size()) / s);
  }
  // whole silo loads: cold (read + featurize + store) and cache hit (memory-mapped)
  std::string cache = (fs::temp_directory_path() / cat("graft-bench-cache-", ::getpid())).string();
  SiloOptions so;
  so.threads = 2;
  so.cache_dir = cache;
  so.tokenizer_fingerprint = "bench " + tok_dir;
  so.processor_fingerprints["t"] = table.dump_json();
  for (const char* what : {"cold (read + featurize + store)", "cache hit (mmap)"}) {
    auto p = make_processor(reg, type, table);
    auto t2 = std::chrono::steady_clock::now();
    DataSilo silo({{"t", p}}, tok, so);
    double s = secs(t2);
    std::printf("%s: silo load, %s: %.2f s (%zu records)\n", name.c_str(), what, s, silo.task("t").train.size());
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache, ec)) std::printf("%s: cache entry %.1f MB\n", name.c_str(),
                                                                       static_cast<double>(fs::file_size(e.path())) / 1e6);
  fs::remove_all(cache, ec);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    RuntimeOptions ro;
    ro.log_level = "warn";
    init_runtime(ro);
    int64_t max_rows = argc > 1 ? std::stoll(argv[1]) : 0;
    std::string shared = GRAFT_SHARED_DIR;
    Registry& reg = Registry::global({GRAFT_PLUGIN_BUILD_DIR});
    std::printf("available cores: %d\n", available_cores());
    if (fs::exists(shared + "/data/nsmc/train.tsv")) {
      Value t = Value::object();
      t.set("text_column", "document");
      t.set("label_column", "label");
      t.set("max_seq_len", 128);
      bench("nsmc", reg, "tsv_classification", t, std::string(GRAFT_TEST_FIXTURES) + "/tokenizers/models/kcbert-base",
            shared + "/data/nsmc/train.tsv", max_rows);
    } else {
      std::printf("nsmc: %s/data/nsmc/train.tsv not found, skipped\n", shared.c_str());
    }
    bool have_conll = false;
    for (const auto& n : reg.names(ComponentKind::processor)) have_conll = have_conll || n == "conll";
    if (have_conll && fs::exists(shared + "/data/conll2003-en/eng.train")) {
      Value t = Value::object();
      t.set("max_seq_len", 128);
      bench("conll2003", reg, "conll", t, std::string(GRAFT_TEST_FIXTURES) + "/tokenizers/models/bert-base-cased",
            shared + "/data/conll2003-en/eng.train", max_rows);
    } else {
      std::printf("conll2003: the conll processor (token_classification plugin) or the data is missing, skipped\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_preprocess: %s\n", e.what());
    return 1;
  }
  return 0;
}
