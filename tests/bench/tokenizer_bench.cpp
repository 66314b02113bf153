// Tokenizer throughput (a benchmark, not a test): encodes every text of a TSV column with a model
// directory's tokenizer through graft::core::encode_batch on 1 and 2 (or --threads) threads and
// reports sentences/s and tokens/s (tokens include the special tokens, as HF counts them).
//
//   bench_tokenizer [--json] [--threads 1,2] [--rounds 3] [--limit N] [MODEL_DIR TSV COLUMN]...
//
// Without MODEL_DIR arguments (and with ../shared present) it runs the standard set: the
// kcbert-base, bert-base-uncased and roberta-base tokenizers of ../shared/fixtures/tokenizers/models
// on NSMC train.tsv (column document) and SST-2 train.tsv (column sentence).
// tools/bench_tokenizers.sh runs it next to HF tokenizers (Rust) and prints the ratios.
#include <graft/core/batch_encode.h>
#include <graft/core/files.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::vector<std::string> read_column(const std::string& tsv, const std::string& column, size_t limit) {
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
  while (std::getline(in, line) && (limit == 0 || texts.size() < limit)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream r(line);
    std::string f;
    for (size_t i = 0; i <= col && std::getline(r, f, '\t'); ++i) {
    }
    texts.push_back(std::move(f));
  }
  return texts;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bool as_json = false;
  int rounds = 3;
  size_t limit = 0;
  std::vector<int> thread_counts = {1, 2};
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--json") {
      as_json = true;
    } else if (a == "--rounds") {
      rounds = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--limit") {
      limit = static_cast<size_t>(std::atol(value().c_str()));
    } else if (a == "--threads") {
      thread_counts.clear();
      std::istringstream s(value());
      std::string t;
      while (std::getline(s, t, ',')) thread_counts.push_back(std::max(1, std::atoi(t.c_str())));
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: bench_tokenizer [--json] [--threads 1,2] [--rounds 3] [--limit N] [MODEL_DIR TSV COLUMN]...\n");
      return 0;
    } else {
      pos.push_back(a);
    }
  }
  struct Job {
    std::string model, tsv, column;
  };
  std::vector<Job> jobs;
  if (pos.empty()) {
    std::string shared = GRAFT_SHARED_DIR;
    if (shared.empty()) {
      std::fprintf(stderr, "bench_tokenizer: no ../shared here; give MODEL_DIR TSV COLUMN triples\n");
      return 2;
    }
    for (const char* tok : {"kcbert-base", "bert-base-uncased", "roberta-base"}) {
      std::string dir = shared + "/fixtures/tokenizers/models/" + tok;
      jobs.push_back({dir, shared + "/data/nsmc/train.tsv", "document"});
      jobs.push_back({dir, shared + "/data/sst2/train.tsv", "sentence"});
    }
  } else {
    if (pos.size() % 3 != 0) {
      std::fprintf(stderr, "bench_tokenizer: expected MODEL_DIR TSV COLUMN triples\n");
      return 2;
    }
    for (size_t i = 0; i < pos.size(); i += 3) jobs.push_back({pos[i], pos[i + 1], pos[i + 2]});
  }

  // Calibration: a pure arithmetic loop (no memory traffic, nothing shared) through the same
  // parallel_for on each thread count. Its 1→N scaling is what the machine gives right now; on
  // a loaded machine the tokenizer scaling cannot exceed it.
  {
    const size_t n = 4096;
    std::vector<double> sink(n);
    double base = 0;
    for (int threads : thread_counts) {
      double best = 1e300;
      for (int r = 0; r < rounds; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        graft::core::parallel_for(
            n, threads,
            [&](size_t b, size_t e) {
              for (size_t i = b; i < e; ++i) {
                double x = static_cast<double>(i);
                for (int k = 0; k < 20000; ++k) x = x * 1.0000001 + 1e-9;
                sink[i] = x;
              }
            },
            16);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      if (threads == thread_counts.front()) base = best;
      if (as_json)
        std::printf("{\"impl\":\"control\",\"threads\":%d,\"seconds\":%.6f,\"scaling\":%.3f}\n", threads, best,
                    base / best);
      else
        std::printf("control: pure CPU loop on %d thread(s): %.3f s (%.2fx of %d thread(s))\n", threads, best, base / best,
                    thread_counts.front());
    }
  }

  int status = 0;
  for (const auto& job : jobs) {
    std::string name = job.model.substr(job.model.find_last_of('/') + 1);
    std::string file = job.tsv;
    try {
      auto tok = graft::core::load_tokenizer(job.model);
      auto texts = read_column(job.tsv, job.column, limit);
      std::vector<graft::TextInput> inputs;
      inputs.reserve(texts.size());
      for (auto& t : texts) inputs.push_back(graft::TextInput::single(std::move(t)));
      // warm-up (page cache, allocator)
      graft::core::encode_batch_first(*tok, inputs, {}, thread_counts.back());
      for (int threads : thread_counts) {
        double best = 1e300, best_cpu = 0;
        size_t tokens = 0;
        for (int r = 0; r < rounds; ++r) {
          double c0 = cpu_seconds();
          auto t0 = std::chrono::steady_clock::now();
          auto enc = graft::core::encode_batch_first(*tok, inputs, {}, threads);
          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          if (s < best) best_cpu = cpu_seconds() - c0;
          best = std::min(best, s);
          tokens = 0;
          for (const auto& e : enc) tokens += e.size();
        }
        if (as_json)
          std::printf(
              "{\"impl\":\"graft\",\"tokenizer\":\"%s\",\"file\":\"%s\",\"threads\":%d,\"sentences\":%zu,\"tokens\":%zu,"
              "\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"sentences_per_s\":%.1f,\"tokens_per_s\":%.1f}\n",
              json_escape(name).c_str(), json_escape(file).c_str(), threads, inputs.size(), tokens, best, best_cpu,
              inputs.size() / best, tokens / best);
        else
          std::printf("graft %-18s %-40s %d thread(s): %7zu sentences %9zu tokens  %.3f s (cpu %.3f s)  %9.0f sentences/s %10.0f tokens/s\n",
                      name.c_str(), file.c_str(), threads, inputs.size(), tokens, best, best_cpu,
                      inputs.size() / best, tokens / best);
        std::fflush(stdout);
      }
    } catch (const graft::Error& e) {
      std::string msg = e.what();
      if (as_json)
        std::printf("{\"impl\":\"graft\",\"tokenizer\":\"%s\",\"file\":\"%s\",\"error\":\"%s\"}\n", json_escape(name).c_str(),
                    json_escape(file).c_str(), json_escape(msg.substr(0, msg.find('\n'))).c_str());
      else
        std::printf("graft %-18s %-40s skipped: %s\n", name.c_str(), file.c_str(), msg.c_str());
      status = 3;
    }
  }
  return status;
}
