// Checkpoint directories: manifest, verification, latest/keep, atomic commit, RNG states,
// signal handling.
#include <graft/core/checkpoint.h>
#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/error.h>
#include <graft/log.h>

#include <ATen/detail/CUDAHooksInterface.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

constexpr const char* kManifest = "checkpoint.json";
constexpr int64_t kFormat = 1;

/// FNV-1a over 8-byte little-endian words (tail bytes folded in one by one): fast enough to
/// re-read a checkpoint, and any changed byte changes it.
std::string hash_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(cat(path, ": cannot be read: ", std::strerror(errno)));
  uint64_t h = 0xcbf29ce484222325ULL;
  const uint64_t prime = 0x100000001b3ULL;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    size_t n = static_cast<size_t>(in.gcount());
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, buf.data() + i, 8);
      h = (h ^ w) * prime;
    }
    for (; i < n; ++i) h = (h ^ static_cast<unsigned char>(buf[i])) * prime;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::vector<std::string> regular_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool parse_step_name(const std::string& name, int64_t& step) {
  if (name.size() <= 5 || name.compare(0, 5, "step-") != 0) return false;
  for (size_t i = 5; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  if (name.size() - 5 > 18) return false;
  step = std::stoll(name.substr(5));
  return true;
}

}  // namespace

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", static_cast<long long>(step));
  return buf;
}

void write_checkpoint_manifest(const std::string& dir, int64_t step, const Value& info) {
  Value files = Value::object();
  for (const auto& rel : regular_files(dir)) {
    if (rel == kManifest) continue;
    std::string p = dir + "/" + rel;
    Value f = Value::object();
    f.set("size", static_cast<int64_t>(fs::file_size(p)));
    f.set("hash", hash_file(p));
    files.set(rel, f);
  }
  Value m = Value::object();
  m.set("graft_checkpoint", kFormat);
  m.set("step", step);
  m.set("files", files);
  m.set("info", info);
  write_json_file(dir + "/" + kManifest, m);
}

std::string verify_checkpoint(const std::string& dir, bool verify_hashes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "not a directory";
  const std::string mpath = dir + "/" + kManifest;
  if (!fs::exists(mpath, ec)) return cat(kManifest, " is missing (the checkpoint was not finished)");
  Value m;
  try {
    m = read_json_file(mpath);
  } catch (const Error& e) {
    return cat(kManifest, " is unreadable: ", e.what());
  }
  if (!m.is_object() || m.get_int("graft_checkpoint", 0) != kFormat || !m.contains("files") ||
      !m.at("files").is_object())
    return cat(kManifest, ": expected {\"graft_checkpoint\": ", kFormat, ", \"files\": {...}}");
  for (const auto& [rel, f] : m.at("files").as_object()) {
    std::string p = dir + "/" + rel;
    if (!fs::is_regular_file(p, ec)) return cat(rel, " is missing");
    auto size = static_cast<int64_t>(fs::file_size(p, ec));
    if (size != f.get_int("size", -1)) return cat(rel, " has ", size, " bytes, expected ", f.get_int("size", -1));
    if (verify_hashes && hash_file(p) != f.get_string("hash", "")) return cat(rel, " is corrupt (content hash differs)");
  }
  return "";
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& root) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    int64_t step = 0;
    if (e.is_directory() && parse_step_name(e.path().filename().string(), step)) out.emplace_back(step, e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string latest_checkpoint(const std::string& root) {
  auto all = list_checkpoints(root);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::string why = verify_checkpoint(it->second);
    if (why.empty()) return it->second;
    log::warn("skipping checkpoint ", it->second, ": ", why);
  }
  throw ConfigError(cat("--resume latest: no complete checkpoint in ", root,
                        all.empty() ? " (the directory has no step-* checkpoints)" : ""));
}

std::string resolve_resume(const std::string& spec, const std::string& root) {
  if (spec == "latest") return latest_checkpoint(root);
  std::string why = verify_checkpoint(spec);
  GRAFT_CHECK(why.empty(), ConfigError, "--resume ", spec, ": not a usable checkpoint: ", why);
  return spec;
}

void prune_checkpoints(const std::string& root, int64_t keep) {
  auto all = list_checkpoints(root);
  std::error_code ec;
  for (size_t i = 0; keep > 0 && i + static_cast<size_t>(keep) < all.size(); ++i) {
    fs::remove_all(all[i].second, ec);
    if (ec) log::warn("could not remove old checkpoint ", all[i].second, ": ", ec.message());
  }
  // leftovers of killed runs: ".step-*.tmp-<pid>-<n>" / ".old-<pid>" whose process is gone
  for (const auto& e : fs::directory_iterator(root, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(".step-", 0) != 0) continue;
    size_t at = n.find(".tmp-");
    if (at == std::string::npos) at = n.find(".old-");
    if (at == std::string::npos) continue;
    long pid = std::strtol(n.c_str() + at + 5, nullptr, 10);
    if (pid <= 0 || pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;
    std::error_code ec2;
    fs::remove_all(e.path(), ec2);
  }
}

void commit_checkpoint(const std::string& temp_dir, const std::string& final_dir) {
  for (const auto& rel : regular_files(temp_dir)) fsync_path(temp_dir + "/" + rel, false);
  for (const auto& e : fs::recursive_directory_iterator(temp_dir))
    if (e.is_directory()) fsync_path(e.path().string(), true);
  fsync_path(temp_dir, true);
  commit_dir(temp_dir, final_dir);
  fsync_path(fs::path(final_dir).lexically_normal().parent_path().string(), true);
}

// ---------------------------------------------------------------------------------------------
// RNG

std::map<std::string, torch::Tensor> rng_state() {
  std::map<std::string, torch::Tensor> s;
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    s["torch_cpu"] = gen.get_state().clone();
  }
  const auto& hooks = at::detail::getCUDAHooks();
  if (hooks.hasCUDA())
    for (int i = 0; i < hooks.getNumGPUs(); ++i) {
      at::Generator gen = hooks.getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(i));
      std::lock_guard<std::mutex> lock(gen.mutex());
      s[cat("torch_cuda_", i)] = gen.get_state().clone();
    }
  return s;
}

void set_rng_state(const std::map<std::string, torch::Tensor>& s) {
  auto it = s.find("torch_cpu");
  GRAFT_CHECK(it != s.end(), FormatError, "rng state: 'torch_cpu' is missing");
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    try {
      gen.set_state(it->second.to(torch::kUInt8).contiguous());
    } catch (const c10::Error& e) {
      throw FormatError(cat("rng state 'torch_cpu' is not a torch CPU generator state: ", e.what_without_backtrace()));
    }
  }
  int saved = 0;
  for (const auto& [k, _] : s)
    if (k.rfind("torch_cuda_", 0) == 0) ++saved;
  const auto& hooks = at::detail::getCUDAHooks();
  int have = hooks.hasCUDA() ? hooks.getNumGPUs() : 0;
  if (saved != have)
    log::warn("the checkpoint has CUDA RNG states for ", saved, " device(s), this machine has ", have,
              "; dropout on CUDA will not repeat the interrupted run exactly");
  for (int i = 0; i < have; ++i) {
    auto c = s.find(cat("torch_cuda_", i));
    if (c == s.end()) continue;
    at::Generator gen = hooks.getDefaultCUDAGenerator(static_cast<c10::DeviceIndex>(i));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(c->second.to(torch::kUInt8).contiguous());
  }
}

// ---------------------------------------------------------------------------------------------
// Signals

namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void graft_on_stop_signal(int sig) {
  if (g_signal != 0) {
    // second request: stop now; the last committed checkpoint is intact
    static const char msg[] = "\ngraft: second signal, stopping immediately\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
  g_signal = sig;
}

}  // namespace

SignalGuard::SignalGuard() {
  struct sigaction sa {};
  sa.sa_handler = &graft_on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &sa, &old_term_);
  ::sigaction(SIGINT, &sa, &old_int_);
}

SignalGuard::~SignalGuard() {
  ::sigaction(SIGTERM, &old_term_, nullptr);
  ::sigaction(SIGINT, &old_int_, nullptr);
}

int SignalGuard::pending() { return static_cast<int>(g_signal); }
void SignalGuard::clear() { g_signal = 0; }
void SignalGuard::raise_for_test(int sig) { g_signal = sig; }

}  // namespace graft::core
