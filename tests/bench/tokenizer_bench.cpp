// Tokenizer throughput: encodes every text of a TSV column (default: NSMC train.tsv, column
// "document") with a model directory's tokenizer, single-threaded and with N threads.
//   bench_tokenizer [MODEL_DIR] [TSV] [COLUMN] [THREADS]
#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  std::string shared = GRAFT_SHARED_DIR;
  std::string model = argc > 1 ? argv[1] : std::string(GRAFT_TEST_FIXTURES) + "/tokenizers/models/kcbert-base";
  std::string tsv = argc > 2 ? argv[2] : (shared.empty() ? "" : shared + "/data/nsmc/train.tsv");
  std::string column = argc > 3 ? argv[3] : "document";
  int threads = argc > 4 ? std::atoi(argv[4]) : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (tsv.empty()) {
    std::fprintf(stderr, "usage: bench_tokenizer [MODEL_DIR] TSV [COLUMN] [THREADS] (no ../shared: give a TSV)\n");
    return 2;
  }
  try {
    auto tok = graft::core::load_tokenizer(model);
    std::istringstream in(graft::core::read_file(tsv));
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header;
    {
      std::istringstream h(line);
      std::string f;
      while (std::getline(h, f, '\t')) header.push_back(f);
    }
    size_t col = header.size();
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == column) col = i;
    if (col == header.size()) throw graft::DataError(graft::cat(tsv, ":1: no column '", column, "'"));
    std::vector<std::string> texts;
    size_t bytes = 0;
    while (std::getline(in, line)) {
      std::istringstream r(line);
      std::string f;
      for (size_t i = 0; i <= col && std::getline(r, f, '\t'); ++i) {
      }
      bytes += f.size();
      texts.push_back(std::move(f));
    }
    auto run = [&](int nthreads) {
      std::atomic<size_t> tokens{0}, next{0};
      auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> pool;
      for (int k = 0; k < nthreads; ++k)
        pool.emplace_back([&] {
          size_t local = 0;
          for (size_t i; (i = next.fetch_add(1)) < texts.size();)
            local += tok->encode_one(graft::TextInput::single(texts[i])).size();
          tokens += local;
        });
      for (auto& t : pool) t.join();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%d thread(s): %zu texts, %zu tokens (incl. [CLS]/[SEP]) in %.3f s: %.0f tokens/s, %.0f texts/s, %.1f MB/s\n",
                  nthreads, texts.size(), tokens.load(), s, tokens / s, texts.size() / s, bytes / s / 1e6);
    };
    std::printf("tokenizer %s (%s), %s column '%s'\n", model.c_str(), tok->kind().c_str(), tsv.c_str(), column.c_str());
    run(1);  // warm-up
    run(1);
    if (threads > 1) run(threads);
  } catch (const graft::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}
