// Hub client and HF cache against a local fake hub (cpp-httplib on 127.0.0.1, in this process)
// that serves tests/fixtures/models/bert-sequence-classification in the hub's URL layout:
// /<repo>/resolve/<rev>/<file> (LFS files answered with a 302 to /cdn/<sha256>, X-Linked-Etag,
// X-Linked-Size), /api/models/<repo>/revision/<rev>, X-Repo-Commit, X-Error-Code.
// Nothing here reaches the internet; HF_HOME-like state lives in temp dirs.
#include <doctest/doctest.h>

#include <graft/core/files.h>
#include <graft/core/hub.h>
#include <graft/core/model_dir.h>
#include <graft/core/recipe.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <httplib.h>

#include "test_support.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;
using namespace graft::core::hub;

namespace {

const std::string kC1 = "1111111111111111111111111111111111111111";
const std::string kC2 = "2222222222222222222222222222222222222222";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string vocab_txt() {
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (int i = 5; i < 99; ++i) v += "tok" + std::to_string(i) + "\n";
  return v;
}

class FakeHub {
 public:
  struct Rev {
    std::map<std::string, std::string> files;
    std::set<std::string> lfs;
  };
  std::map<std::string, std::map<std::string, Rev>> repos;                 // repo → commit → files
  std::map<std::string, std::map<std::string, std::string>> refs;          // repo → name → commit
  std::set<std::string> private_repos;
  const std::string token = "hf_test_secret";
  std::atomic<bool> api{true};
  std::atomic<size_t> cut_next{0};         // next CDN GET sends this many bytes, then closes
  std::atomic<bool> corrupt_next{false};   // next CDN GET flips a byte (same size)
  std::atomic<bool> truncate_next{false};  // next CDN GET sends 10 bytes less (consistent length)

  FakeHub() {
    const std::string dir = test::fixture("models/bert-sequence-classification");
    Rev main;
    main.files["config.json"] = read_file(dir + "/config.json");
    main.files["model.safetensors"] = read_file(dir + "/model.safetensors");
    main.files["pytorch_model.bin"] = read_file(dir + "/pytorch_model.bin");
    main.files["vocab.txt"] = vocab_txt();
    main.files["tokenizer_config.json"] = R"({"do_lower_case": true, "model_max_length": 40})";
    main.files["README.md"] = "# tiny\n";
    main.lfs = {"model.safetensors", "pytorch_model.bin"};
    Rev v1 = main;
    v1.files["config.json"] = main.files["config.json"].substr(0, main.files["config.json"].rfind('}')) +
                              ",\n  \"graft_test_marker\": \"v1\"\n}\n";
    repos["test-org/tiny-bert"][kC1] = main;
    repos["test-org/tiny-bert"][kC2] = v1;
    refs["test-org/tiny-bert"]["main"] = kC1;
    refs["test-org/tiny-bert"]["v1"] = kC2;
    repos["test-org/private"][kC1] = main;
    refs["test-org/private"]["main"] = kC1;
    private_repos.insert("test-org/private");
    for (auto& [repo, revs] : repos)
      for (auto& [c, rev] : revs)
        for (auto& [f, content] : rev.files)
          if (rev.lfs.count(f)) blobs_[sha256_hex(content)] = content;

    svr_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
      if (!api) {
        res.status = 404;
        res.set_content("no api here", "text/plain");
        return;
      }
      if (!authorized(repo, req, res)) return;
      const Rev* rev = find(repo, req.matches[3].str(), res);
      if (!rev) return;
      std::string sib;
      for (const auto& [f, c] : rev->files) sib += (sib.empty() ? "" : ",") + std::string("{\"rfilename\":\"") + f + "\"}";
      res.set_content("{\"id\":\"" + repo + "\",\"sha\":\"" + commit_ + "\",\"siblings\":[" + sib + "]}", "application/json");
    });
    svr_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      auto it = blobs_.find(req.matches[1].str());
      if (it == blobs_.end()) {
        res.status = 404;
        return;
      }
      std::string content = it->second;
      if (corrupt_next.exchange(false)) content[content.size() / 2] ^= 0x5a;
      if (truncate_next.exchange(false)) content.resize(content.size() - 10);
      if (size_t cut = cut_next.exchange(0)) {
        res.set_content_provider(content.size(), "application/octet-stream",
                                 [content, cut](size_t offset, size_t length, httplib::DataSink& sink) {
                                   sink.write(content.data() + offset, std::min(length, cut));
                                   return false;  // drop the connection mid-transfer
                                 });
        return;
      }
      res.set_content(content, "application/octet-stream");  // httplib answers Range with 206
    });
    svr_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      note(req);
      const std::string repo = req.matches[1].str() + "/" + req.matches[2].str();
      const std::string file = req.matches[4].str();
      if (!authorized(repo, req, res)) return;
      const Rev* rev = find(repo, req.matches[3].str(), res);
      if (!rev) return;
      res.set_header("X-Repo-Commit", commit_);
      auto it = rev->files.find(file);
      if (it == rev->files.end()) {
        res.status = 404;
        res.set_header("X-Error-Code", "EntryNotFound");
        res.set_content("Entry not found", "text/plain");
        return;
      }
      const std::string sha = sha256_hex(it->second);
      if (rev->lfs.count(file)) {
        res.status = 302;
        res.set_header("X-Linked-Etag", "\"" + sha + "\"");
        res.set_header("X-Linked-Size", std::to_string(it->second.size()));
        res.set_header("ETag", "W/\"" + sha.substr(0, 40) + "\"");
        res.set_header("Location", base() + "/cdn/" + sha);
        return;
      }
      res.set_header("ETag", "\"" + sha.substr(0, 40) + "\"");
      res.set_content(it->second, "application/octet-stream");
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    svr_.stop();
    thread_.join();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }
  void clear() {
    std::lock_guard<std::mutex> l(mu_);
    log_.clear();
  }
  bool saw(const std::string& part) {
    for (const auto& r : requests())
      if (contains(r, part)) return true;
    return false;
  }

  HubConfig config(const std::string& cache) const {
    HubConfig c;
    c.endpoint = base();
    c.cache_dir = cache;
    c.progress = false;
    c.stall_timeout_s = 5;
    return c;
  }

 private:
  void note(const httplib::Request& req) {
    std::lock_guard<std::mutex> l(mu_);
    std::string r = req.method + " " + req.path;
    if (req.has_header("Range")) r += " range=" + req.get_header_value("Range");
    log_.push_back(r);
  }
  bool authorized(const std::string& repo, const httplib::Request& req, httplib::Response& res) {
    if (!private_repos.count(repo)) return true;
    if (!req.has_header("Authorization")) {
      res.status = 401;
      res.set_content("Invalid username or password.", "text/plain");
      return false;
    }
    if (req.get_header_value("Authorization") != "Bearer " + token) {
      res.status = 403;
      res.set_content("Forbidden", "text/plain");
      return false;
    }
    return true;
  }
  const Rev* find(const std::string& repo, const std::string& revision, httplib::Response& res) {
    auto r = repos.find(repo);
    if (r == repos.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_content("Repository not found", "text/plain");
      return nullptr;
    }
    std::string commit = revision;
    auto named = refs[repo].find(revision);
    if (named != refs[repo].end()) commit = named->second;
    auto c = r->second.find(commit);
    if (c == r->second.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      res.set_content("Revision not found", "text/plain");
      return nullptr;
    }
    commit_ = commit;  // handlers run one request at a time per test (sequential client)
    return &c->second;
  }

  httplib::Server svr_;
  std::thread thread_;
  int port_ = -1;
  std::mutex mu_;
  std::vector<std::string> log_;
  std::map<std::string, std::string> blobs_;
  std::string commit_;
};

template <class E>
std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("unexpected exception type: " << e.what());
    return {};
  }
  FAIL("expected an exception");
  return {};
}

std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    if (!it->is_directory()) out.push_back(it->path().lexically_relative(dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

struct EnvGuard {
  std::map<std::string, std::optional<std::string>> saved;
  void set(const std::string& k, const std::optional<std::string>& v) {
    if (!saved.count(k)) {
      const char* old = std::getenv(k.c_str());
      saved[k] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (v)
      ::setenv(k.c_str(), v->c_str(), 1);
    else
      ::unsetenv(k.c_str());
  }
  ~EnvGuard() {
    for (const auto& [k, v] : saved) {
      if (v)
        ::setenv(k.c_str(), v->c_str(), 1);
      else
        ::unsetenv(k.c_str());
    }
  }
};

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  std::string path = test::temp_dir("sha") + "/f";
  std::ofstream(path, std::ios::binary) << std::string(3 * 1024 * 1024 + 7, 'x');
  CHECK(sha256_file(path) == sha256_hex(std::string(3 * 1024 * 1024 + 7, 'x')));
}

TEST_CASE("hub ids follow huggingface_hub's rules") {
  auto r = parse_repo_id("bert-base-uncased");
  REQUIRE(r);
  CHECK(r->repo_id == "bert-base-uncased");
  CHECK(r->revision == "main");
  r = parse_repo_id("beomi/kcbert-base@v1.0");
  REQUIRE(r);
  CHECK(r->repo_id == "beomi/kcbert-base");
  CHECK(r->revision == "v1.0");
  for (const char* bad : {"", "/abs/path", "a/b/c", "./model", "../x", "org/-name", "org/name.", "a--b/c", "a..b",
                          "org/na me", "org/name@", "runs/demo/", "org/name@../../etc", "org/name@/abs", "org/name@a//b"})
    CHECK_MESSAGE(!parse_repo_id(bad), bad);
  CHECK(!parse_repo_id(std::string(97, 'a')));
  r = parse_repo_id("org/name@refs/pr/1");
  REQUIRE(r);
  CHECK(r->revision == "refs/pr/1");
  HubConfig cfg;
  cfg.cache_dir = test::temp_dir("cache");
  cfg.endpoint = "http://127.0.0.1:1";
  CHECK_THROWS_AS(download_snapshot(RepoRef{"org/name", "../../x"}, {}, cfg), ConfigError);
  CHECK_THROWS_AS(download_file(RepoRef{"org/name", "main"}, "../x", cfg), DataError);
}

TEST_CASE("HubConfig reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN and HF_HUB_OFFLINE") {
  EnvGuard env;
  for (const char* k : {"HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN",
                        "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "XDG_CACHE_HOME",
                        "HF_HUB_DISABLE_PROGRESS_BARS"})
    env.set(k, std::nullopt);
  const std::string home = test::temp_dir("hfhome");
  env.set("HOME", home);
  HubConfig c = HubConfig::from_env();
  CHECK(c.endpoint == "https://huggingface.co");
  CHECK(c.cache_dir == home + "/.cache/huggingface/hub");
  CHECK(c.token.empty());
  CHECK(!c.offline);

  env.set("HF_HOME", home + "/hf");
  fs::create_directories(home + "/hf");
  std::ofstream(home + "/hf/token") << "hf_from_file\n";
  env.set("HF_ENDPOINT", "http://mirror.local:8080/");
  env.set("HF_HUB_OFFLINE", "1");
  c = HubConfig::from_env();
  CHECK(c.endpoint == "http://mirror.local:8080");
  CHECK(c.cache_dir == home + "/hf/hub");
  CHECK(c.token == "hf_from_file");
  CHECK(c.offline);

  env.set("HF_HUB_CACHE", home + "/elsewhere");
  env.set("HF_TOKEN", "hf_env");
  env.set("HF_HUB_OFFLINE", "0");
  c = HubConfig::from_env();
  CHECK(c.cache_dir == home + "/elsewhere");
  CHECK(c.token == "hf_env");
  CHECK(!c.offline);
}

TEST_CASE("a hub model downloads into the HF cache layout; the second resolve makes no request") {
  FakeHub hub;
  const std::string cache = test::temp_dir("cache");
  HubConfig cfg = hub.config(cache);

  std::string dir = resolve_model_dir("test-org/tiny-bert", cfg);
  const fs::path repo = fs::path(cache) / "models--test-org--tiny-bert";
  CHECK(dir == (repo / "snapshots" / kC1).string());
  // the files graft uses — not README.md, and one weights format only
  CHECK(files_under(dir) == std::vector<std::string>{"config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"});
  CHECK(read_file(repo / "refs" / "main") == kC1);
  const std::string fixture = test::fixture("models/bert-sequence-classification");
  CHECK(read_file(dir + "/model.safetensors") == read_file(fixture + "/model.safetensors"));
  CHECK(read_file(dir + "/config.json") == read_file(fixture + "/config.json"));
  // snapshot entries are relative symlinks into blobs/<etag>; LFS blobs are named by sha256
  const std::string sha = sha256_hex(read_file(fixture + "/model.safetensors"));
  CHECK(fs::is_symlink(dir + "/model.safetensors"));
  CHECK(fs::read_symlink(dir + "/model.safetensors") == fs::path("../../blobs/" + sha));
  CHECK(fs::exists(repo / "blobs" / sha));
  StateDict sd = read_weights(dir + "/model.safetensors");
  CHECK(sd.contains("classifier.weight"));
  // the LFS file was fetched from the CDN redirect target
  CHECK(hub.saw("GET /cdn/" + sha));

  hub.clear();
  CHECK(resolve_model_dir("test-org/tiny-bert", cfg) == dir);
  CHECK(resolve_model_dir("test-org/tiny-bert@" + kC1, cfg) == dir);
  CHECK(hub.requests().empty());
  // a local directory wins and is never looked up
  CHECK(resolve_model_dir(fixture, cfg) == fixture);
  CHECK(hub.requests().empty());
}

TEST_CASE("revisions: branches and tags are recorded in refs/, commits name snapshots") {
  FakeHub hub;
  const std::string cache = test::temp_dir("cache");
  HubConfig cfg = hub.config(cache);
  std::string d1 = resolve_model_dir("test-org/tiny-bert@v1", cfg);
  CHECK(fs::path(d1).filename() == kC2);
  CHECK(contains(read_file(d1 + "/config.json"), "graft_test_marker"));
  CHECK(read_file(fs::path(cache) / "models--test-org--tiny-bert" / "refs" / "v1") == kC2);
  std::string d2 = resolve_model_dir("test-org/tiny-bert", cfg);
  CHECK(fs::path(d2).filename() == kC1);
  CHECK(!contains(read_file(d2 + "/config.json"), "graft_test_marker"));
  // the blob of model.safetensors is shared by both snapshots
  CHECK(fs::equivalent(d1 + "/model.safetensors", d2 + "/model.safetensors"));

  auto msg = error_of<ConfigError>([&] { resolve_model_dir("test-org/tiny-bert@nope", cfg); });
  CHECK(contains(msg, "revision 'nope' not found"));
  CHECK(contains(msg, "test-org/tiny-bert"));
}

TEST_CASE("without the repo API the usual files are probed, optional ones may be missing") {
  FakeHub hub;
  hub.api = false;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  SnapshotResult r = download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, {}, cfg);
  CHECK(r.commit == kC1);
  CHECK(r.files == std::vector<std::string>{"config.json", "tokenizer_config.json", "vocab.txt", "model.safetensors"});
  CHECK(hub.saw("HEAD /test-org/tiny-bert/resolve/" + kC1 + "/tokenizer.json"));  // 404, tolerated
  CHECK(!hub.saw("pytorch_model.bin"));
  CHECK(snapshot_complete(r.dir));
}

TEST_CASE("--include globs select files from the repo listing") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  SnapshotOptions so;
  so.include = {"*.json"};
  SnapshotResult r = download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, so, cfg);
  CHECK(files_under(r.dir) == std::vector<std::string>{"config.json", "tokenizer_config.json"});
  so.include = {"pytorch_model.bin", "README.md"};
  r = download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, so, cfg);
  CHECK(files_under(r.dir) == std::vector<std::string>{"README.md", "config.json", "pytorch_model.bin", "tokenizer_config.json"});
  CHECK(read_weights(r.dir + "/pytorch_model.bin").contains("bert.pooler.dense.weight"));
  so.include = {"*.h5"};
  CHECK(contains(error_of<ConfigError>([&] { download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, so, cfg); }),
                 "matches --include *.h5"));
}

TEST_CASE("a missing repo or file is a ConfigError naming the repo and the file") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  auto m1 = error_of<ConfigError>([&] { resolve_model_dir("test-org/missing", cfg); });
  CHECK(contains(m1, "test-org/missing"));
  CHECK(contains(m1, "not found"));
  CHECK(contains(m1, "not a local directory"));
  auto m2 = error_of<ConfigError>([&] { download_file(RepoRef{"test-org/tiny-bert", "main"}, "nope.json", cfg); });
  CHECK(contains(m2, "'nope.json'"));
  CHECK(contains(m2, "test-org/tiny-bert"));
  CHECK(contains(m2, "404"));
  // nothing was cached for the missing repo
  CHECK(!fs::exists(fs::path(cfg.cache_dir) / "models--test-org--missing" / "snapshots"));
  // not a directory and not a hub id
  auto m3 = error_of<ConfigError>([&] { resolve_model_dir("./no/such/dir", cfg); });
  CHECK(contains(m3, "'./no/such/dir' is not a directory"));
}

TEST_CASE("401/403 tell to set HF_TOKEN; the token is sent as a Bearer header") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  auto m1 = error_of<ConfigError>([&] { resolve_model_dir("test-org/private", cfg); });
  CHECK(contains(m1, "HTTP 401"));
  CHECK(contains(m1, "HF_TOKEN"));
  cfg.token = "wrong";
  auto m2 = error_of<ConfigError>([&] { resolve_model_dir("test-org/private", cfg); });
  CHECK(contains(m2, "HTTP 403"));
  CHECK(contains(m2, "HF_TOKEN"));
  cfg.token = hub.token;
  std::string dir = resolve_model_dir("test-org/private", cfg);
  CHECK(snapshot_complete(dir));
}

TEST_CASE("an interrupted transfer leaves nothing in snapshots and resumes with Range") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  const std::string content = read_file(test::fixture("models/bert-sequence-classification/model.safetensors"));
  const std::string sha = sha256_hex(content);
  const fs::path repo = fs::path(cfg.cache_dir) / "models--test-org--tiny-bert";
  const size_t half = content.size() / 2;
  hub.cut_next = half;
  auto msg = error_of<DataError>([&] { resolve_model_dir("test-org/tiny-bert", cfg); });
  CHECK(contains(msg, "'model.safetensors' of hub repo 'test-org/tiny-bert'"));
  CHECK(contains(msg, "interrupted"));
  CHECK(contains(msg, "again to resume"));
  CHECK(!fs::exists(repo / "snapshots" / kC1 / "model.safetensors"));
  CHECK(!fs::exists(repo / "blobs" / sha));
  REQUIRE(fs::exists(repo / "blobs" / (sha + ".incomplete")));
  CHECK(fs::file_size(repo / "blobs" / (sha + ".incomplete")) == half);
  CHECK(!snapshot_complete((repo / "snapshots" / kC1).string()));

  hub.clear();
  std::string dir = resolve_model_dir("test-org/tiny-bert", cfg);
  CHECK(hub.saw("GET /cdn/" + sha + " range=bytes=" + std::to_string(half) + "-"));
  CHECK(read_file(dir + "/model.safetensors") == content);
  CHECK(!fs::exists(repo / "blobs" / (sha + ".incomplete")));
}

TEST_CASE("a corrupt download (sha256 or size mismatch) is removed and reported") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  const std::string content = read_file(test::fixture("models/bert-sequence-classification/model.safetensors"));
  const std::string sha = sha256_hex(content);
  const fs::path repo = fs::path(cfg.cache_dir) / "models--test-org--tiny-bert";
  auto no_leftovers = [&] {
    for (const auto& f : files_under(repo / "blobs")) CHECK_MESSAGE(!contains(f, sha), f);
    CHECK(!fs::exists(repo / "snapshots" / kC1 / "model.safetensors"));
  };

  hub.corrupt_next = true;
  auto m1 = error_of<DataError>([&] { resolve_model_dir("test-org/tiny-bert", cfg); });
  CHECK(contains(m1, "corrupt"));
  CHECK(contains(m1, "sha256"));
  CHECK(contains(m1, "model.safetensors"));
  no_leftovers();

  hub.truncate_next = true;
  auto m2 = error_of<DataError>([&] { resolve_model_dir("test-org/tiny-bert", cfg); });
  CHECK(contains(m2, cat("expected ", content.size(), " bytes, received ", content.size() - 10)));
  no_leftovers();

  std::string dir = resolve_model_dir("test-org/tiny-bert", cfg);
  CHECK(read_file(dir + "/model.safetensors") == content);
}

TEST_CASE("a corrupt cache entry is repaired by the next download") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  std::string dir = resolve_model_dir("test-org/tiny-bert", cfg);
  const std::string content = read_file(dir + "/model.safetensors");
  const fs::path blob = fs::path(cfg.cache_dir) / "models--test-org--tiny-bert" / "blobs" / sha256_hex(content);

  // a truncated blob: reading it is a FormatError naming the snapshot file, never a crash
  fs::resize_file(blob, 100);
  auto m = error_of<FormatError>([&] { read_weights(dir + "/model.safetensors"); });
  CHECK(contains(m, dir + "/model.safetensors"));
  // graft download compares sizes with the hub and fetches it again
  download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, {}, cfg);
  CHECK(read_file(dir + "/model.safetensors") == content);

  // a deleted blob (dangling snapshot link): the snapshot is incomplete and is re-fetched
  fs::remove(blob);
  CHECK(!snapshot_complete(dir));
  CHECK(resolve_model_dir("test-org/tiny-bert", cfg) == dir);
  CHECK(read_file(dir + "/model.safetensors") == content);
}

TEST_CASE("HF_HUB_OFFLINE: only the cache, with a clear error when the model is not there") {
  FakeHub hub;
  HubConfig cfg = hub.config(test::temp_dir("cache"));
  cfg.offline = true;
  auto m = error_of<ConfigError>([&] { resolve_model_dir("test-org/tiny-bert", cfg); });
  CHECK(contains(m, "HF_HUB_OFFLINE"));
  CHECK(contains(m, cfg.cache_dir));
  CHECK(contains(error_of<ConfigError>([&] { download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, {}, cfg); }),
                 "HF_HUB_OFFLINE"));
  CHECK(hub.requests().empty());

  cfg.offline = false;
  std::string dir = resolve_model_dir("test-org/tiny-bert", cfg);
  hub.clear();
  cfg.offline = true;
  CHECK(resolve_model_dir("test-org/tiny-bert", cfg) == dir);
  SnapshotResult r = download_snapshot(RepoRef{"test-org/tiny-bert", "main"}, {}, cfg);
  CHECK(r.from_cache);
  CHECK(r.dir == dir);
  CHECK(hub.requests().empty());
}

TEST_CASE("an unreachable endpoint is a DataError that points at HF_HUB_OFFLINE") {
  HubConfig cfg;
  cfg.endpoint = "http://127.0.0.1:1";
  cfg.cache_dir = test::temp_dir("cache");
  cfg.progress = false;
  auto m = error_of<DataError>([&] { resolve_model_dir("test-org/tiny-bert", cfg); });
  CHECK(contains(m, "cannot reach"));
  CHECK(contains(m, "HF_HUB_OFFLINE"));
}

TEST_CASE("graft download prints the snapshot dir; errors map to exit codes") {
  FakeHub hub;
  EnvGuard env;
  const std::string home = test::temp_dir("hfhome");
  env.set("HF_HOME", home);
  env.set("HF_HUB_CACHE", std::nullopt);
  env.set("HF_ENDPOINT", hub.base());
  env.set("HF_TOKEN", std::nullopt);
  env.set("HF_HUB_OFFLINE", std::nullopt);
  auto r = test::run_graft("download test-org/tiny-bert --include config.json --include '*.txt'");
  CHECK(r.exit_code == 0);
  CHECK(r.out == home + "/hub/models--test-org--tiny-bert/snapshots/" + kC1 + "\n");
  CHECK(files_under(home + "/hub/models--test-org--tiny-bert/snapshots/" + kC1) ==
        std::vector<std::string>{"config.json", "vocab.txt"});
  r = test::run_graft("download test-org/missing");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "test-org/missing"));
}

TEST_CASE("a recipe's language_model.checkpoint may be a hub id (HF_HOME/HF_ENDPOINT from the environment)") {
  FakeHub hub;
  EnvGuard env;
  const std::string home = test::temp_dir("hfhome");
  env.set("HF_HOME", home);
  env.set("HF_ENDPOINT", hub.base());
  for (const char* k : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE",
                        "TRANSFORMERS_OFFLINE"})
    env.set(k, std::nullopt);
  Recipe r;
  r.path = "/recipes/r.toml";
  r.base_dir = test::temp_dir("recipe");
  r.language_model.checkpoint = "test-org/tiny-bert@v1";
  CHECK(checkpoint_dir(r) == home + "/hub/models--test-org--tiny-bert/snapshots/" + kC2);
  r.language_model.checkpoint = "test-org/missing";
  auto m1 = error_of<ConfigError>([&] { checkpoint_dir(r); });
  CHECK(contains(m1, "/recipes/r.toml: language_model.checkpoint: 'test-org/missing'"));
  CHECK(contains(m1, "not found"));
  r.language_model.checkpoint = "models/typo/kcbert";  // not a hub id: no request
  hub.clear();
  auto m2 = error_of<ConfigError>([&] { checkpoint_dir(r); });
  CHECK(contains(m2, "nor a Hugging Face hub id"));
  CHECK(hub.requests().empty());
}
