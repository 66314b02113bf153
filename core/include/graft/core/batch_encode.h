#pragma once
// Batch encoding on worker threads. Tokenizers are immutable after construction and their
// encode() is thread-safe, so a batch is split into blocks handed out dynamically to `threads`
// workers; results come back in input order and equal sequential encode() calls exactly.
#include <graft/tokenizer.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace graft::core {

/// Runs fn(begin, end) over [0, n) in blocks of `block` items on `threads` threads
/// (0 = every available core; 1 = the calling thread only). Blocks are claimed dynamically, so
/// uneven items balance. The first exception (in block order) is rethrown after every worker
/// stopped; later blocks are skipped once one failed.
void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& fn, size_t block = 32);

/// tokenizer.encode(inputs[i], options) for every i, on `threads` threads (see parallel_for).
/// Element i holds the windows of input i (one Encoding unless options.return_overflowing).
/// Errors (invalid UTF-8, refused truncation) are rethrown as thrown by encode() for the first
/// failing input in input order, with "input <i>: " prepended for graft::Error types.
std::vector<std::vector<Encoding>> encode_batch(const Tokenizer& tokenizer, const std::vector<TextInput>& inputs,
                                                const EncodeOptions& options = {}, int threads = 0);

/// Only the first window of each input (the common case of classification features).
std::vector<Encoding> encode_batch_first(const Tokenizer& tokenizer, const std::vector<TextInput>& inputs,
                                         const EncodeOptions& options = {}, int threads = 0);

}  // namespace graft::core
