// Hugging Face hub client (libcurl) and the huggingface_hub cache layout (see hub.h).
#include <graft/core/files.h>
#include <graft/core/hub.h>
#include <graft/core/json.h>
#include <graft/core/runtime.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

namespace fs = std::filesystem;

namespace graft::core::hub {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool truthy(const std::string& v) {
  std::string s;
  for (char c : v) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_commit_hash(const std::string& s) {
  if (s.size() != 40) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_sha256(const std::string& s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// Percent-encodes everything but unreserved characters; '/' kept when `keep_slash`.
std::string url_encode(const std::string& s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

/// Safe path component check for file names coming from a server.
void check_relative_name(const std::string& name, const std::string& repo) {
  fs::path p(name);
  bool ok = !name.empty() && !p.is_absolute();
  for (const auto& part : p)
    if (part == ".." || part == ".") ok = false;
  GRAFT_CHECK(ok, DataError, "hub repo '", repo, "': refusing file name '", name,
              "' (absolute or with '..' components)");
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names, of the last response
  std::string body;                            ///< only when collected
  CURLcode code = CURLE_OK;
  std::string curl_error;
  std::string url;
  const std::string* header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

size_t header_cb(char* buf, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  std::string line(buf, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (redirects, 100-continue)
    r->headers.clear();
    auto sp = line.find(' ');
    if (sp != std::string::npos) r->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
  } else {
    auto colon = line.find(':');
    if (colon != std::string::npos) r->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t body_cb(char* buf, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  if (r->body.size() < (4u << 20)) r->body.append(buf, size * n);
  return size * n;
}

class Curl {
 public:
  explicit Curl(const HubConfig& cfg) : cfg_(cfg) {
    curl_init_once();
    h_ = curl_easy_init();
    if (!h_) throw Error("cannot initialise libcurl");
  }
  ~Curl() {
    if (list_) curl_slist_free_all(list_);
    curl_easy_cleanup(h_);
  }
  Curl(const Curl&) = delete;
  Curl& operator=(const Curl&) = delete;
  CURL* get() { return h_; }

  /// Common options; `extra_headers` e.g. "Range: bytes=10-".
  void setup(const std::string& url, const std::vector<std::string>& extra_headers, Response& r) {
    r.url = url;
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_CONNECTTIMEOUT, cfg_.connect_timeout_s);
    curl_easy_setopt(h_, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h_, CURLOPT_LOW_SPEED_TIME, cfg_.stall_timeout_s);
    curl_easy_setopt(h_, CURLOPT_USERAGENT, "graft/" GRAFT_VERSION " (libcurl)");
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf_);
    errbuf_[0] = 0;
    if (list_) {
      curl_slist_free_all(list_);
      list_ = nullptr;
    }
    // Custom Authorization headers are not forwarded by libcurl to another host after a
    // redirect (e.g. the LFS CDN), so the token stays with the endpoint.
    if (!cfg_.token.empty()) list_ = curl_slist_append(list_, ("Authorization: Bearer " + cfg_.token).c_str());
    for (const auto& h : extra_headers) list_ = curl_slist_append(list_, h.c_str());
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, list_);
  }

  void perform(Response& r) {
    r.code = curl_easy_perform(h_);
    if (r.code != CURLE_OK) r.curl_error = errbuf_[0] ? std::string(errbuf_) : curl_easy_strerror(r.code);
    long status = 0;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
    if (status != 0) r.status = status;
  }

 private:
  const HubConfig& cfg_;
  CURL* h_ = nullptr;
  curl_slist* list_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {0};
};

std::string resolve_url(const HubConfig& cfg, const std::string& repo, const std::string& revision,
                        const std::string& file) {
  return cat(cfg.endpoint, "/", repo, "/resolve/", url_encode(revision, false), "/", url_encode(file, true));
}

[[noreturn]] void unreachable(const HubConfig& cfg, const Response& r, const std::string& what) {
  throw DataError(cat("cannot reach the Hugging Face hub at ", cfg.endpoint, " for ", what, ": ", r.curl_error,
                      " (set HF_HUB_OFFLINE=1 to use only the cache at ", cfg.cache_dir, ")"));
}

/// ConfigError/DataError for a non-success status of `what` (a request about repo/file).
[[noreturn]] void http_error(const HubConfig& cfg, const Response& r, const RepoRef& ref, const std::string& file) {
  const std::string* code = r.header("x-error-code");
  const std::string ec = code ? *code : "";
  const std::string where = cat("'", file, "' of hub repo '", ref.repo_id, "' (revision ", ref.revision, ")");
  if (r.status == 401 || r.status == 403) {
    if (ec == "RepoNotFound" || (r.status == 401 && cfg.token.empty()))
      throw ConfigError(cat("HTTP ", r.status, " for ", where, " from ", r.url, ": the repository does not exist, or it is ",
                            "private or gated: check the id, and set HF_TOKEN to an access token that can read it"));
    throw ConfigError(cat("HTTP ", r.status, " for ", where, " from ", r.url, ": access denied",
                          cfg.token.empty() ? "; set HF_TOKEN to an access token that can read the repository"
                                            : " with the token in HF_TOKEN; check that it can read the repository "
                                              "(and that you accepted its conditions if it is gated)"));
  }
  if (r.status == 404) {
    if (ec == "RepoNotFound")
      throw ConfigError(cat("hub repo '", ref.repo_id, "' not found at ", cfg.endpoint, " (while fetching '", file,
                            "'); check the id (org/name), or set HF_TOKEN if it is private"));
    if (ec == "RevisionNotFound")
      throw ConfigError(cat("revision '", ref.revision, "' not found in hub repo '", ref.repo_id, "' (while fetching '",
                            file, "')"));
    throw ConfigError(cat("file ", where, " not found (HTTP 404 from ", r.url, ")"));
  }
  throw DataError(cat("HTTP ", r.status, " for ", where, " from ", r.url,
                      r.body.empty() ? std::string() : ": " + r.body.substr(0, 300)));
}

// ---------------------------------------------------------------------------------------------
// cache helpers

std::string folder_name(const std::string& repo_id) {
  std::string s = "models--";
  for (char c : repo_id) {
    if (c == '/')
      s += "--";
    else
      s.push_back(c);
  }
  return s;
}

std::string read_ref(const fs::path& repo_dir, const std::string& revision) {
  fs::path ref = repo_dir / "refs" / revision;
  std::error_code ec;
  if (!fs::is_regular_file(ref, ec)) return {};
  std::ifstream in(ref);
  std::string commit;
  std::getline(in, commit);
  commit = trim(commit);
  return is_commit_hash(commit) ? commit : std::string();
}

void write_ref(const fs::path& repo_dir, const std::string& revision, const std::string& commit) {
  if (revision == commit) return;
  fs::path ref = repo_dir / "refs" / revision;
  if (read_ref(repo_dir, revision) == commit) return;
  fs::create_directories(ref.parent_path());
  write_file_atomic(ref.string(), commit);
}

/// An exclusive flock on <cache>/.locks/<folder>/<name>.lock for the lifetime of the object.
class FileLock {
 public:
  FileLock(const fs::path& path) {
    fs::create_directories(path.parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw DataError(cat(path.string(), ": cannot create the download lock: ", std::strerror(errno)));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd_);
      throw DataError(cat(path.string(), ": cannot lock: ", std::strerror(err)));
    }
  }
  ~FileLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

/// snapshots/<commit>/<file> → relative symlink to blobs/<etag>, replaced atomically.
void link_snapshot(const fs::path& repo_dir, const fs::path& pointer, const std::string& etag) {
  fs::create_directories(pointer.parent_path());
  fs::path blob = repo_dir / "blobs" / etag;
  fs::path rel = blob.lexically_relative(pointer.parent_path());
  static std::atomic<int> counter{0};
  fs::path tmp = pointer.parent_path() / cat(".", pointer.filename().string(), ".tmp-", ::getpid(), "-", counter++);
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_symlink(rel, tmp, ec);
  if (ec) {  // a file system without symlinks: copy
    fs::copy_file(blob, tmp, fs::copy_options::overwrite_existing);
  }
  fs::rename(tmp, pointer);
}

// ---------------------------------------------------------------------------------------------
// progress

struct Progress {
  const HubConfig* cfg;
  std::string name;
  curl_off_t base = 0;   ///< bytes already there (resume)
  curl_off_t total = -1;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now(), last{};
  bool tty = false;
  bool drawn = false;
};

int progress_cb(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* p = static_cast<Progress*>(user);
  if (!p->tty || !p->cfg->progress) return 0;
  auto now = std::chrono::steady_clock::now();
  if (p->drawn && now - p->last < std::chrono::milliseconds(100)) return 0;
  p->last = now;
  p->drawn = true;
  const double done = static_cast<double>(p->base + dlnow);
  const double total = p->total > 0 ? static_cast<double>(p->total) : (dltotal > 0 ? static_cast<double>(p->base + dltotal) : 0);
  const double secs = std::chrono::duration<double>(now - p->start).count();
  const double rate = secs > 0 ? static_cast<double>(dlnow) / secs : 0;
  std::string line = cat("\r", p->name, "  ");
  if (total > 0) {
    const int width = 24;
    int filled = static_cast<int>(width * std::min(1.0, done / total));
    line += "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] ";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3.0f%% ", 100.0 * done / total);
    line += pct + human_bytes(done) + "/" + human_bytes(total);
    if (rate > 0) {
      line += "  " + human_bytes(rate) + "/s";
      char eta[32];
      std::snprintf(eta, sizeof eta, "  ETA %.0fs", std::max(0.0, (total - done) / rate));
      line += eta;
    }
  } else {
    line += human_bytes(done);
  }
  line += "   ";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  return 0;
}

size_t file_write_cb(char* buf, size_t size, size_t n, void* user);

struct FileSink {
  std::FILE* f = nullptr;
  Response* r = nullptr;
  bool decided = false;  ///< truncate-or-append decided for the final response
  bool ok_status = false;
  std::string path;
};

size_t file_write_cb(char* buf, size_t size, size_t n, void* user) {
  auto* s = static_cast<FileSink*>(user);
  const size_t bytes = size * n;
  if (!s->decided) {
    s->decided = true;
    s->ok_status = s->r->status == 200 || s->r->status == 206;
    if (s->r->status == 200) {  // the server ignored (or we sent no) Range: start over
      if (std::fflush(s->f) != 0 || ::ftruncate(::fileno(s->f), 0) != 0 || std::fseek(s->f, 0, SEEK_SET) != 0) return 0;
    }
  }
  if (!s->ok_status) {  // an error page: keep it for the message, not in the file
    if (s->r->body.size() < 4096) s->r->body.append(buf, bytes);
    return bytes;
  }
  return std::fwrite(buf, 1, bytes, s->f) == bytes ? bytes : 0;
}

struct FileMeta {
  std::string commit;
  std::string etag;
  int64_t size = -1;
  std::string url;  ///< resolve URL (GET follows redirects from there)
};

/// HEAD of a resolve URL, following only relative redirects (renamed repos), as huggingface_hub
/// does: an absolute redirect is the LFS CDN and its headers are the ones wanted.
FileMeta head_file(const HubConfig& cfg, const RepoRef& ref, const std::string& file, bool* not_found) {
  std::string url = resolve_url(cfg, ref.repo_id, ref.revision, file);
  for (int hop = 0; hop < 6; ++hop) {
    Curl c(cfg);
    Response r;
    c.setup(url, {"Accept-Encoding: identity"}, r);
    curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 0L);
    c.perform(r);
    if (r.code != CURLE_OK) unreachable(cfg, r, cat("'", file, "' of '", ref.repo_id, "'"));
    if (r.status >= 300 && r.status < 400) {
      const std::string* loc = r.header("location");
      GRAFT_CHECK(loc != nullptr, DataError, "HTTP ", r.status, " without Location from ", url);
      if (!loc->empty() && loc->front() == '/') {  // relative: same host, e.g. a renamed repo
        url = cfg.endpoint + *loc;
        continue;
      }
    } else if (r.status == 404 && not_found) {
      const std::string* code = r.header("x-error-code");
      if (!code || *code == "EntryNotFound") {
        *not_found = true;
        return {};
      }
      http_error(cfg, r, ref, file);
    } else if (r.status < 200 || r.status >= 300) {
      http_error(cfg, r, ref, file);
    }
    FileMeta m;
    m.url = resolve_url(cfg, ref.repo_id, ref.revision, file);
    const std::string* commit = r.header("x-repo-commit");
    if (commit) m.commit = lower(*commit);
    if (m.commit.empty() && is_commit_hash(ref.revision)) m.commit = ref.revision;
    GRAFT_CHECK(is_commit_hash(m.commit), DataError, url, ": the server sent no X-Repo-Commit header (",
                "is HF_ENDPOINT a Hugging Face hub?)");
    const std::string* etag = r.header("x-linked-etag");
    if (!etag) etag = r.header("etag");
    GRAFT_CHECK(etag != nullptr && !etag->empty(), DataError, url, ": the server sent no ETag header");
    std::string e = *etag;
    if (e.rfind("W/", 0) == 0) e = e.substr(2);
    if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
    GRAFT_CHECK(!e.empty() && e.find('/') == std::string::npos && e != "." && e != "..", DataError, url,
                ": unusable ETag '", *etag, "'");
    m.etag = e;
    const std::string* size = r.header("x-linked-size");
    if (!size) size = r.header("content-length");
    if (size) {
      char* end = nullptr;
      long long v = std::strtoll(size->c_str(), &end, 10);
      if (end && *end == 0 && v >= 0) m.size = v;
    }
    return m;
  }
  throw DataError(cat("too many redirects for ", url));
}

/// Downloads `meta.url` into blobs/<etag> (resuming blobs/<etag>.incomplete), verifies size
/// and sha256 (LFS), renames into place.
void fetch_blob(const HubConfig& cfg, const RepoRef& ref, const std::string& file, const FileMeta& meta,
                const fs::path& repo_dir) {
  const fs::path blob = repo_dir / "blobs" / meta.etag;
  FileLock lock(fs::path(cfg.cache_dir) / ".locks" / repo_dir.filename() / (meta.etag + ".lock"));
  std::error_code ec;
  if (fs::exists(blob, ec)) return;  // another process finished it meanwhile
  fs::create_directories(blob.parent_path());
  const fs::path part = fs::path(blob.string() + ".incomplete");
  const std::string what = cat("'", file, "' of hub repo '", ref.repo_id, "'");

  for (int attempt = 0; attempt < 2; ++attempt) {
    int64_t have = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
    if (meta.size >= 0 && have > meta.size) {  // longer than the file: useless
      fs::remove(part, ec);
      have = 0;
    }
    std::FILE* f = std::fopen(part.c_str(), have > 0 ? "r+b" : "wb");
    if (!f) throw DataError(cat(part.string(), ": cannot be written: ", std::strerror(errno)));
    if (have > 0) std::fseek(f, 0, SEEK_END);
    Response r;
    FileSink sink{f, &r, false, false, part.string()};
    Progress prog{&cfg, file, have, meta.size};
    prog.tty = cfg.progress && stderr_is_tty();
    std::vector<std::string> hdrs = {"Accept-Encoding: identity"};
    const bool complete_already = meta.size >= 0 && have == meta.size && have > 0;
    if (have > 0 && !complete_already) {
      hdrs.push_back(cat("Range: bytes=", have, "-"));
      log::info("resuming ", what, " at byte ", have, meta.size >= 0 ? cat(" of ", meta.size) : std::string());
    }
    if (!complete_already) {
      Curl c(cfg);
      c.setup(meta.url, hdrs, r);
      curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
      curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, file_write_cb);
      curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &sink);
      curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, progress_cb);
      curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &prog);
      c.perform(r);
      if (prog.drawn) std::fputs("\n", stderr);
    }
    const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    std::fclose(f);
    if (!complete_already) {
      if (r.status == 416 && have > 0 && attempt == 0) {  // range not satisfiable: start over
        fs::remove(part, ec);
        continue;
      }
      if (r.code != CURLE_OK) {
        int64_t now = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
        if (r.status != 200 && r.status != 206 && r.status != 0) {
          if (now == 0) fs::remove(part, ec);
          http_error(cfg, r, ref, file);
        }
        if (r.code == CURLE_COULDNT_CONNECT || r.code == CURLE_COULDNT_RESOLVE_HOST || r.code == CURLE_COULDNT_RESOLVE_PROXY) {
          if (now == 0) fs::remove(part, ec);
          unreachable(cfg, r, what);
        }
        throw DataError(cat("download of ", what, " was interrupted after ", now,
                            meta.size >= 0 ? cat(" of ", meta.size) : std::string(), " bytes: ", r.curl_error,
                            "; run the command again to resume (partial data kept in ", part.string(), ")"));
      }
      if (r.status != 200 && r.status != 206) {
        int64_t now = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
        if (now == 0) fs::remove(part, ec);
        http_error(cfg, r, ref, file);
      }
    }
    if (!flushed) throw DataError(cat(part.string(), ": write failed: ", std::strerror(errno)));
    // verify
    const int64_t got = static_cast<int64_t>(fs::file_size(part, ec));
    if (meta.size >= 0 && got != meta.size) {
      fs::remove(part, ec);
      throw DataError(cat("download of ", what, " is corrupt: expected ", meta.size, " bytes, received ", got,
                          "; the partial file was removed, run the command again"));
    }
    if (is_sha256(meta.etag)) {
      const std::string sum = sha256_file(part.string());
      if (sum != meta.etag) {
        fs::remove(part, ec);
        throw DataError(cat("download of ", what, " is corrupt: sha256 ", sum, " does not match the expected ", meta.etag,
                            "; the partial file was removed, run the command again"));
      }
    }
    fs::rename(part, blob);
    if (!prog.tty && cfg.progress) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - prog.start).count();
      log::info("downloaded ", what, " (", human_bytes(static_cast<double>(got)), " in ", cat(static_cast<int64_t>(secs * 10) / 10.0),
                " s)");
    }
    return;
  }
  throw DataError(cat("download of ", what, ": the server refused to resume and to restart"));
}

/// download_file, with a 404 for the file (EntryNotFound) returned as "" when `optional`.
/// With `trust_cache`, a file already in the snapshot of a commit revision is returned without
/// a request; otherwise (graft download) its blob is checked against the hub's size.
std::string fetch(const RepoRef& ref, const std::string& file, const HubConfig& cfg, bool optional, std::string* commit_out,
                  bool trust_cache = false) {
  check_relative_name(file, ref.repo_id);
  const fs::path repo_dir = repo_cache_dir(cfg, ref.repo_id);
  if (trust_cache && is_commit_hash(ref.revision)) {
    fs::path pointer = repo_dir / "snapshots" / ref.revision / file;
    std::error_code ec;
    if (fs::exists(pointer, ec)) {
      if (commit_out) *commit_out = ref.revision;
      return pointer.string();
    }
  }
  GRAFT_CHECK(!cfg.offline, ConfigError, "'", file, "' of hub repo '", ref.repo_id, "' (revision ", ref.revision,
              ") is not in the cache at ", repo_dir.string(), " and HF_HUB_OFFLINE forbids downloading it");
  bool not_found = false;
  FileMeta meta = head_file(cfg, ref, file, optional ? &not_found : nullptr);
  if (not_found) return {};
  if (commit_out) *commit_out = meta.commit;
  const fs::path pointer = repo_dir / "snapshots" / meta.commit / file;
  std::error_code ec;
  const fs::path blob = repo_dir / "blobs" / meta.etag;
  if (fs::exists(blob, ec) && meta.size >= 0 && static_cast<int64_t>(fs::file_size(blob, ec)) != meta.size) {
    log::warn(blob.string(), ": cached blob of '", file, "' has ", fs::file_size(blob, ec), " bytes, the hub says ",
              meta.size, ": downloading it again");
    fs::remove(blob, ec);
  }
  if (!fs::exists(blob, ec)) fetch_blob(cfg, ref, file, meta, repo_dir);
  // a snapshot entry that does not lead to this blob (dangling or stale) is replaced
  if (!fs::exists(pointer, ec) || !fs::equivalent(pointer, blob, ec)) link_snapshot(repo_dir, pointer, meta.etag);
  write_ref(repo_dir, ref.revision, meta.commit);
  return pointer.string();
}

bool glob_match(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool has_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

const std::vector<std::string>& tokenizer_and_config_files() {
  static const std::vector<std::string> files = {
      "config.json",       "graft.toml",          "tokenizer.json",          "tokenizer_config.json",
      "special_tokens_map.json", "added_tokens.json", "vocab.txt",          "vocab.json",
      "merges.txt",        "sentencepiece.bpe.model", "spiece.model",         "sentencepiece.model"};
  return files;
}

const std::vector<std::string>& weight_candidates() {
  static const std::vector<std::string> files = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                                 "pytorch_model.bin.index.json"};
  return files;
}

/// The shard files an index names, in first-appearance order.
std::vector<std::string> shards_of(const std::string& index_path) {
  Value idx = read_json_file(index_path);
  const Value* wm = idx.find("weight_map");
  GRAFT_CHECK(wm && wm->is_object(), FormatError, index_path, ": no 'weight_map' object");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& [k, v] : wm->as_object()) {
    GRAFT_CHECK(v.is_string(), FormatError, index_path, ": weight_map['", k, "'] is not a file name");
    if (seen.insert(v.as_string()).second) out.push_back(v.as_string());
  }
  return out;
}

struct RepoInfo {
  bool ok = false;
  std::string commit;
  std::vector<std::string> siblings;
};

/// GET /api/models/<repo>/revision/<rev>; ok=false when the server does not offer it.
RepoInfo repo_info(const HubConfig& cfg, const RepoRef& ref) {
  RepoInfo info;
  Curl c(cfg);
  Response r;
  const std::string url = cat(cfg.endpoint, "/api/models/", ref.repo_id, "/revision/", url_encode(ref.revision, false));
  c.setup(url, {}, r);
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r);
  c.perform(r);
  if (r.code != CURLE_OK) unreachable(cfg, r, cat("repo '", ref.repo_id, "'"));
  const std::string* code = r.header("x-error-code");
  if (r.status == 401 || r.status == 403 || (code && (*code == "RepoNotFound" || *code == "RevisionNotFound")))
    http_error(cfg, r, ref, "(repo info)");
  if (r.status != 200) {
    log::debug(url, ": HTTP ", r.status, "; probing the usual files instead");
    return info;
  }
  Value v;
  try {
    v = parse_json(r.body, url);
  } catch (const Error&) {
    log::debug(url, ": not JSON; probing the usual files instead");
    return info;
  }
  if (!v.is_object()) return info;
  if (const Value* sha = v.find("sha"); sha && sha->is_string() && is_commit_hash(sha->as_string()))
    info.commit = sha->as_string();
  if (const Value* sib = v.find("siblings"); sib && sib->is_array()) {
    for (const auto& s : sib->as_array())
      if (s.is_object())
        if (const Value* n = s.find("rfilename"); n && n->is_string()) info.siblings.push_back(n->as_string());
    info.ok = true;
  }
  return info;
}

/// Every file under a snapshot directory (relative names), sorted.
std::vector<std::string> list_snapshot(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (!it->is_directory()) out.push_back(it->path().lexically_relative(dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

/// A revision is used in URLs (encoded) and as a path under refs/: no traversal, no control bytes.
bool valid_revision(const std::string& rev) {
  if (rev.empty() || rev.size() > 256 || rev.front() == '/' || rev.back() == '/') return false;
  for (unsigned char c : rev)
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
  for (const auto& part : fs::path(rev))
    if (part == ".." || part == "." || part.empty()) return false;
  return rev.find("//") == std::string::npos;
}

void check_ref(const RepoRef& ref) {
  GRAFT_CHECK(parse_repo_id(ref.repo_id).has_value() && ref.repo_id.find('@') == std::string::npos, ConfigError, "'",
              ref.repo_id, "' is not a hub repo id (expected org/name)");
  GRAFT_CHECK(valid_revision(ref.revision), ConfigError, "'", ref.revision, "' is not a usable revision of hub repo '",
              ref.repo_id, "' (a branch, tag or commit hash)");
}

/// Runs `fn`, turning file-system failures in the cache into DataErrors naming the cache.
template <class F>
auto with_cache_errors(const HubConfig& cfg, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const fs::filesystem_error& e) {
    throw DataError(cat("HF cache at ", cfg.cache_dir, ": ", e.what(),
                        " (set HF_HUB_CACHE or HF_HOME to a writable directory)"));
  }
}

}  // namespace

HubConfig HubConfig::from_env() {
  HubConfig c;
  std::string ep = env("HF_ENDPOINT");
  if (!ep.empty()) c.endpoint = ep;
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  std::string home = env("HF_HOME");
  if (home.empty()) {
    std::string xdg = env("XDG_CACHE_HOME");
    if (!xdg.empty())
      home = (fs::path(xdg) / "huggingface").string();
    else
      home = (fs::path(env("HOME").empty() ? "/tmp" : env("HOME")) / ".cache" / "huggingface").string();
  }
  c.cache_dir = env("HF_HUB_CACHE");
  if (c.cache_dir.empty()) c.cache_dir = env("HUGGINGFACE_HUB_CACHE");
  if (c.cache_dir.empty()) c.cache_dir = (fs::path(home) / "hub").string();
  c.token = env("HF_TOKEN");
  if (c.token.empty()) c.token = env("HUGGING_FACE_HUB_TOKEN");
  if (c.token.empty()) {
    std::ifstream in(fs::path(home) / "token");
    if (in) std::getline(in, c.token);
  }
  c.token = trim(c.token);
  c.offline = truthy(env("HF_HUB_OFFLINE")) || truthy(env("TRANSFORMERS_OFFLINE"));
  c.progress = !truthy(env("HF_HUB_DISABLE_PROGRESS_BARS"));
  return c;
}

std::optional<RepoRef> parse_repo_id(const std::string& spec) {
  RepoRef r;
  std::string id = spec;
  auto at = spec.find('@');
  if (at != std::string::npos) {
    id = spec.substr(0, at);
    r.revision = spec.substr(at + 1);
    if (!valid_revision(r.revision)) return std::nullopt;
  }
  if (id.empty() || id.size() > 96) return std::nullopt;
  if (id.find("--") != std::string::npos || id.find("..") != std::string::npos) return std::nullopt;
  int slashes = 0;
  size_t part_start = 0;
  for (size_t i = 0; i <= id.size(); ++i) {
    if (i == id.size() || id[i] == '/') {
      if (i < id.size() && ++slashes > 1) return std::nullopt;
      std::string part = id.substr(part_start, i - part_start);
      if (part.empty()) return std::nullopt;
      if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') return std::nullopt;
      part_start = i + 1;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(id[i]);
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return std::nullopt;
  }
  r.repo_id = id;
  return r;
}

std::string repo_cache_dir(const HubConfig& config, const std::string& repo_id) {
  return (fs::path(config.cache_dir) / folder_name(repo_id)).string();
}

std::string cached_snapshot(const HubConfig& config, const RepoRef& ref) {
  const fs::path repo_dir = repo_cache_dir(config, ref.repo_id);
  std::string commit = is_commit_hash(ref.revision) ? ref.revision : read_ref(repo_dir, ref.revision);
  if (commit.empty()) return {};
  fs::path snap = repo_dir / "snapshots" / commit;
  std::error_code ec;
  return fs::is_directory(snap, ec) ? snap.string() : std::string();
}

std::string download_file(const RepoRef& ref, const std::string& filename, const HubConfig& config) {
  check_ref(ref);
  return with_cache_errors(config, [&] { return fetch(ref, filename, config, false, nullptr, true); });
}

bool snapshot_complete(const std::string& dir) {
  std::error_code ec;
  const fs::path d(dir);
  if (!fs::is_regular_file(d / "config.json", ec)) return false;  // follows the symlink
  if (fs::is_regular_file(d / "model.safetensors", ec) || fs::is_regular_file(d / "pytorch_model.bin", ec)) return true;
  for (const char* index : {"model.safetensors.index.json", "pytorch_model.bin.index.json"}) {
    if (!fs::is_regular_file(d / index, ec)) continue;
    try {
      for (const auto& s : shards_of((d / index).string()))
        if (!fs::is_regular_file(d / s, ec)) return false;
      return true;
    } catch (const Error&) {
      return false;
    }
  }
  return false;
}

namespace {
SnapshotResult download_snapshot_impl(const RepoRef& ref, const SnapshotOptions& options, const HubConfig& cfg);
}  // namespace

SnapshotResult download_snapshot(const RepoRef& ref, const SnapshotOptions& options, const HubConfig& cfg) {
  check_ref(ref);
  return with_cache_errors(cfg, [&] { return download_snapshot_impl(ref, options, cfg); });
}

namespace {
SnapshotResult download_snapshot_impl(const RepoRef& ref, const SnapshotOptions& options, const HubConfig& cfg) {
  SnapshotResult res;
  const fs::path repo_dir = repo_cache_dir(cfg, ref.repo_id);
  if (cfg.offline) {
    res.dir = cached_snapshot(cfg, ref);
    GRAFT_CHECK(!res.dir.empty(), ConfigError, "hub repo '", ref.repo_id, "' (revision ", ref.revision,
                ") is not in the cache at ", repo_dir.string(), " and HF_HUB_OFFLINE forbids downloading it");
    res.commit = fs::path(res.dir).filename().string();
    res.files = list_snapshot(res.dir);
    res.from_cache = true;
    return res;
  }

  RepoInfo info = repo_info(cfg, ref);
  RepoRef at = ref;
  std::vector<std::string> wanted;
  auto include = [&](const std::string& name) {
    if (options.include.empty()) return true;
    for (const auto& g : options.include)
      if (glob_match(g, name)) return true;
    return false;
  };

  if (info.ok) {
    if (!info.commit.empty()) at.revision = info.commit;
    std::set<std::string> present(info.siblings.begin(), info.siblings.end());
    if (!options.include.empty()) {
      for (const auto& s : info.siblings)
        if (include(s)) wanted.push_back(s);
      GRAFT_CHECK(!wanted.empty(), ConfigError, "no file of hub repo '", ref.repo_id, "' (revision ", ref.revision,
                  ") matches --include ", [&] {
                    std::string s;
                    for (const auto& g : options.include) s += (s.empty() ? "" : ", ") + g;
                    return s;
                  }());
    } else {
      for (const auto& f : tokenizer_and_config_files())
        if (present.count(f)) wanted.push_back(f);
      for (const auto& w : weight_candidates())
        if (present.count(w)) {
          wanted.push_back(w);
          break;
        }
    }
    for (const auto& f : wanted) {
      std::string commit;
      std::string p = fetch(at, f, cfg, false, &commit);
      if (res.commit.empty()) res.commit = commit;
      res.files.push_back(f);
      if (options.include.empty() && f.size() > 11 && f.compare(f.size() - 11, 11, ".index.json") == 0) {
        at.revision = commit;
        for (const auto& s : shards_of(p)) {
          fetch(at, s, cfg, false, nullptr);
          res.files.push_back(s);
        }
      }
      at.revision = commit;  // every later file from the same commit
    }
  } else {
    // No listing: config.json first (it is required and tells the commit), then the optional
    // files, then the first weights format found.
    std::vector<std::string> explicit_files;
    for (const auto& g : options.include)
      if (!has_glob(g)) explicit_files.push_back(g);
    std::string commit;
    const bool want_config = include("config.json");
    if (want_config || explicit_files.empty()) {
      fetch(at, "config.json", cfg, !want_config, &commit);
      if (want_config) res.files.push_back("config.json");
      if (!commit.empty()) at.revision = commit;
    }
    for (const auto& f : explicit_files) {
      if (f == "config.json") continue;
      std::string c;
      fetch(at, f, cfg, false, &c);
      res.files.push_back(f);
      if (commit.empty()) commit = c;
      at.revision = c;
    }
    bool has_globs = std::any_of(options.include.begin(), options.include.end(), has_glob);
    if (options.include.empty() || has_globs) {
      for (const auto& f : tokenizer_and_config_files()) {
        if (f == "config.json" || !include(f)) continue;
        std::string c;
        if (!fetch(at, f, cfg, true, &c).empty()) {
          res.files.push_back(f);
          if (commit.empty()) commit = c;
          at.revision = c;
        }
      }
      for (const auto& w : weight_candidates()) {
        if (!include(w)) continue;
        std::string c;
        std::string p = fetch(at, w, cfg, true, &c);
        if (p.empty()) continue;
        res.files.push_back(w);
        if (commit.empty()) commit = c;
        at.revision = c;
        if (w.size() > 11 && w.compare(w.size() - 11, 11, ".index.json") == 0)
          for (const auto& s : shards_of(p)) {
            fetch(at, s, cfg, false, nullptr);
            res.files.push_back(s);
          }
        break;
      }
    }
    res.commit = commit;
  }
  if (res.commit.empty() && !info.commit.empty()) res.commit = info.commit;
  GRAFT_CHECK(!res.commit.empty(), ConfigError, "hub repo '", ref.repo_id, "' (revision ", ref.revision,
              "): nothing was downloaded (no file matched)");
  write_ref(repo_dir, ref.revision, res.commit);
  res.dir = (repo_dir / "snapshots" / res.commit).string();
  fs::create_directories(res.dir);
  return res;
}
}  // namespace

std::string resolve_model_dir(const std::string& spec) { return resolve_model_dir(spec, HubConfig::from_env()); }

std::string resolve_if_hub_id(const std::string& spec) {
  std::error_code ec;
  if (fs::is_directory(spec, ec) || !parse_repo_id(spec)) return spec;
  return resolve_model_dir(spec, HubConfig::from_env());
}

std::string resolve_model_dir(const std::string& spec, const HubConfig& cfg) {
  std::error_code ec;
  if (fs::is_directory(spec, ec)) return spec;
  auto ref = parse_repo_id(spec);
  GRAFT_CHECK(ref.has_value(), ConfigError, "model '", spec,
              "' is not a directory (and not a Hugging Face hub id of the form org/name[@revision])");
  std::string cached = cached_snapshot(cfg, *ref);
  if (!cached.empty() && snapshot_complete(cached)) {
    log::debug(spec, ": from the HF cache ", cached);
    return cached;
  }
  const std::string repo_dir = repo_cache_dir(cfg, ref->repo_id);
  GRAFT_CHECK(!cfg.offline, ConfigError, "model '", spec, "' is not a local directory, and hub repo '", ref->repo_id,
              "' (revision ", ref->revision, ") is not complete in the cache at ", repo_dir,
              " while HF_HUB_OFFLINE forbids downloading (run `graft download ", spec, "` when online)");
  try {
    log::info(spec, " is not a local directory: fetching it from ", cfg.endpoint, " into ", cfg.cache_dir);
    SnapshotResult r = download_snapshot(*ref, SnapshotOptions{}, cfg);
    return r.dir;
  } catch (const ConfigError& e) {
    throw ConfigError(cat("model '", spec, "' is not a local directory, and the hub cannot provide it: ", e.what()));
  } catch (const DataError& e) {
    throw DataError(cat("model '", spec, "' is not a local directory, and fetching it from the hub failed: ", e.what()));
  }
}

}  // namespace graft::core::hub
