#pragma once
// On-disk cache of featurized data sets. An entry is one featurized file of one task (its
// good baskets, with samples, encodings and feature tensors) in a compact binary format
// (docs/formats.md, "feature cache"), memory-mapped on load: feature tensors point into the
// mapping, nothing is copied. Entries are keyed by a SHA-256 over everything that changes
// features (processor type and resolved options, the tokenizer's files and options, the data
// files' contents, the task name, graft version, format version). A stale entry is simply
// never looked up again; a corrupt one (bad header, wrong key, payload checksum mismatch,
// truncation) is reported with a warning, removed and rebuilt. Writes are atomic.
#include <graft/types.h>
#include <graft/value.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graft::core {

struct Recipe;
struct SiloOptions;

/// SHA-256 of bytes, as 64 lowercase hex digits.
std::string digest_sha256(std::string_view bytes);
/// SHA-256 of a file's contents (streamed). DataError "<path>: no such file / cannot be read".
std::string digest_sha256_file(const std::string& path);
/// Fast 64-bit checksum (not cryptographic) used over cache payloads.
uint64_t checksum64(const void* data, size_t size);

/// Builds a cache key from named parts; the key is the SHA-256 of their canonical listing.
class CacheKey {
 public:
  CacheKey& add(std::string_view name, std::string_view value);
  CacheKey& add_file(std::string_view name, const std::string& path);  ///< content hash + size
  std::string hex() const;            ///< 64 hex digits
  const std::string& text() const { return text_; }  ///< the listing (for debugging)

 private:
  std::string text_;
};

/// What an entry records besides the baskets.
struct CacheInfo {
  int64_t skipped = 0;               ///< bad records left out when the entry was built
  std::vector<std::string> labels;   ///< the processor's label list after prepare() (train entries)
  std::string source;                ///< the data file (for messages)
};

/// Bumped whenever the binary layout changes; part of every key and of the header.
constexpr uint32_t kFeatureCacheFormat = 1;

/// Writes baskets (problem-free, featurized) to `path` atomically. Throws graft::Error on I/O
/// failure (callers treat a failed store as a warning).
void write_feature_file(const std::string& path, const std::string& key_hex, const std::vector<Basket>& baskets,
                        const CacheInfo& info);
/// Reads and validates a file written by write_feature_file: magic, format version, key,
/// payload size and checksum, and every length while decoding. FormatError naming the file and
/// the problem otherwise. Tensors are views into a private mapping of the file.
std::vector<Basket> read_feature_file(const std::string& path, const std::string& key_hex, CacheInfo* info = nullptr);

/// The cache directory: $GRAFT_CACHE_DIR, else $XDG_CACHE_HOME/graft/features, else
/// ~/.cache/graft/features.
std::string default_feature_cache_dir();

class FeatureCache {
 public:
  explicit FeatureCache(std::string dir);
  const std::string& dir() const { return dir_; }
  std::string path_for(const std::string& key_hex) const;  ///< <dir>/<key>.gfc
  /// The entry's baskets, or nullopt when there is none. A corrupt entry logs a warning
  /// (file and reason), is deleted, and gives nullopt.
  std::optional<std::vector<Basket>> load(const std::string& key_hex, CacheInfo* info = nullptr) const;
  /// Stores an entry; a failure (unwritable dir, full disk) logs a warning and returns false.
  bool store(const std::string& key_hex, const std::vector<Basket>& baskets, const CacheInfo& info) const noexcept;

 private:
  std::string dir_;
};

/// Fingerprint of a recipe's tokenizer: [tokenizer] type and options with the content hash of
/// every file an option names, or the content hashes of the checkpoint directory's files
/// (weights excluded). "" when it cannot be determined (then nothing is cached).
std::string tokenizer_fingerprint(const Recipe& recipe);
/// Fingerprint of task `i`'s processor: registry type + every resolved option.
std::string processor_fingerprint(const Recipe& recipe, size_t task_index);
/// Fills the cache fields of SiloOptions from the recipe's [data] section.
void configure_feature_cache(const Recipe& recipe, SiloOptions& options);

}  // namespace graft::core
