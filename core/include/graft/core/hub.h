#pragma once
// Hugging Face hub client and cache. Wherever graft accepts a model directory it also accepts a
// hub id `org/name[@revision]`: resolved from the local HF cache (the layout huggingface_hub
// uses, shared with transformers), else downloaded over HTTPS (libcurl) into that cache.
//
// Cache layout (<cache> = HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
// else ~/.cache/huggingface/hub):
//   <cache>/models--<org>--<name>/blobs/<etag>              file contents (etag = sha256 for LFS files)
//   <cache>/models--<org>--<name>/blobs/<etag>.incomplete   a download in progress (resumed with Range)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file> relative symlink → ../../blobs/<etag>
//   <cache>/models--<org>--<name>/refs/<revision>           the commit hash the revision pointed at
//   <cache>/.locks/models--<org>--<name>/<etag>.lock         per-blob lock of concurrent downloads
#include <optional>
#include <string>
#include <vector>

namespace graft::core::hub {

struct HubConfig {
  std::string endpoint = "https://huggingface.co";  ///< HF_ENDPOINT (no trailing slash)
  std::string cache_dir;                            ///< see the layout above
  std::string token;       ///< HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the file HF_HOME/token
  bool offline = false;    ///< HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) = 1|true|yes|on: cache only
  bool progress = true;    ///< progress on stderr (off: HF_HUB_DISABLE_PROGRESS_BARS=1)
  long connect_timeout_s = 10;
  /// A transfer slower than 1 byte/s for this long is aborted (kept for resuming).
  long stall_timeout_s = 60;
  /// Reads the environment variables named above.
  static HubConfig from_env();
};

struct RepoRef {
  std::string repo_id;            ///< "org/name" or a legacy "name"
  std::string revision = "main";  ///< branch, tag or commit hash
};

/// "org/name", "name", with an optional "@revision". nullopt when `spec` is not in that form
/// (huggingface_hub's rules: [A-Za-z0-9_.-] parts, at most 96 characters, no "--" or "..",
/// not starting or ending with '-' or '.').
std::optional<RepoRef> parse_repo_id(const std::string& spec);

/// "<cache>/models--<org>--<name>".
std::string repo_cache_dir(const HubConfig& config, const std::string& repo_id);

/// The cached snapshot directory of `ref` (a commit hash, or a revision with a refs/ entry),
/// or "" when the cache does not know it. Never touches the network.
std::string cached_snapshot(const HubConfig& config, const RepoRef& ref);

/// One file of a repo, returned as its path under snapshots/<commit>/. When `ref.revision` is
/// a commit hash whose snapshot already holds the file, no request is made; otherwise a HEAD
/// request resolves commit and ETag, and the blob is downloaded unless cached. ConfigError
/// naming repo, revision and file for 404 (repo / revision / file) and for 401/403 (telling to
/// set HF_TOKEN); DataError for network failures, interrupted transfers (the partial blob stays
/// for the next attempt to resume) and size/sha256 mismatches (the partial blob is removed).
std::string download_file(const RepoRef& ref, const std::string& filename, const HubConfig& config);

struct SnapshotOptions {
  /// Globs (fnmatch, '*' also matches '/') selecting files by name; empty = the files graft uses:
  /// config.json, graft.toml, tokenizer files, and one weights format (model.safetensors, its
  /// shard index + shards, else pytorch_model.bin, its index + shards).
  std::vector<std::string> include;
};

struct SnapshotResult {
  std::string dir;                 ///< <cache>/models--…/snapshots/<commit>
  std::string commit;
  std::vector<std::string> files;  ///< downloaded or already cached, in order
  bool from_cache = false;         ///< true when answered from the cache alone (offline)
};

/// Fills the cache with the selected files of `ref` and records refs/<revision>. The file list
/// comes from GET /api/models/<repo>/revision/<revision> (`sha`, `siblings`) when the server
/// answers it; otherwise the files graft uses are probed (404 tolerated for optional ones).
/// With `config.offline`, answers from the cache or throws ConfigError naming the cache path.
SnapshotResult download_snapshot(const RepoRef& ref, const SnapshotOptions& options, const HubConfig& config);

/// True when `dir` holds config.json and a complete set of weights (every shard of an index).
bool snapshot_complete(const std::string& dir);

/// The local directory for a model given as a path or a hub id: an existing directory as is;
/// else a hub id served from the cache when its snapshot is complete (no network), else
/// downloaded (download_snapshot with the default selection). ConfigError when `spec` is
/// neither a directory nor a hub id, or the hub has no such model (naming both possibilities).
std::string resolve_model_dir(const std::string& spec);
std::string resolve_model_dir(const std::string& spec, const HubConfig& config);

/// For loaders that keep their own "no such directory" errors: `spec` unchanged when it is an
/// existing directory or not a hub id (absolute/relative paths with several components, "./x"),
/// else resolve_model_dir(spec).
std::string resolve_if_hub_id(const std::string& spec);

/// Lower-case hex SHA-256 of a file (streamed). DataError when it cannot be read.
std::string sha256_file(const std::string& path);
/// Lower-case hex SHA-256 of bytes.
std::string sha256_hex(const std::string& bytes);

}  // namespace graft::core::hub
