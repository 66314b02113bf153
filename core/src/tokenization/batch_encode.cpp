// Batch encoding on worker threads (see <graft/core/batch_encode.h>).
#include <graft/core/batch_encode.h>
#include <graft/core/runtime.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace graft::core {

void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& fn, size_t block) {
  if (n == 0) return;
  block = std::max<size_t>(block, 1);
  const size_t blocks = (n + block - 1) / block;
  size_t t = threads > 0 ? static_cast<size_t>(threads) : static_cast<size_t>(available_cores());
  t = std::max<size_t>(1, std::min(t, blocks));
  if (t == 1) {
    fn(0, n);
    return;
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::exception_ptr> errors(blocks);
  auto worker = [&] {
    for (size_t k; !failed.load(std::memory_order_relaxed) && (k = next.fetch_add(1)) < blocks;) {
      try {
        fn(k * block, std::min(n, (k + 1) * block));
      } catch (...) {
        errors[k] = std::current_exception();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  for (size_t i = 0; i + 1 < t; ++i) pool.emplace_back(worker);
  worker();  // the calling thread works too
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

namespace {

template <class Out, class F>
std::vector<Out> run(const Tokenizer& tok, const std::vector<TextInput>& inputs, const EncodeOptions& options,
                     int threads, F&& take) {
  std::vector<Out> out(inputs.size());
  parallel_for(
      inputs.size(), threads,
      [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
          try {
            out[i] = take(tok.encode(inputs[i], options));
          } catch (const TruncationError& x) {
            throw TruncationError(x.kind(), cat("input ", i, ": ", x.what()));
          } catch (const DataError& x) {
            throw DataError(cat("input ", i, ": ", x.what()));
          } catch (const FormatError& x) {
            throw FormatError(cat("input ", i, ": ", x.what()));
          } catch (const ConfigError& x) {
            throw ConfigError(cat("input ", i, ": ", x.what()));
          }
        }
      },
      16);
  return out;
}

}  // namespace

std::vector<std::vector<Encoding>> encode_batch(const Tokenizer& tokenizer, const std::vector<TextInput>& inputs,
                                                const EncodeOptions& options, int threads) {
  return run<std::vector<Encoding>>(tokenizer, inputs, options, threads,
                                    [](std::vector<Encoding>&& v) { return std::move(v); });
}

std::vector<Encoding> encode_batch_first(const Tokenizer& tokenizer, const std::vector<TextInput>& inputs,
                                         const EncodeOptions& options, int threads) {
  EncodeOptions o = options;
  o.return_overflowing = false;
  return run<Encoding>(tokenizer, inputs, o, threads, [](std::vector<Encoding>&& v) { return std::move(v.at(0)); });
}

}  // namespace graft::core
