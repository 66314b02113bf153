// The plugin host: opens plugin files with Boost.DLL, checks the plain-C descriptor before any
// plugin C++ is run, and pins every loaded library for the life of the process.
#include "plugin_host.h"

#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <boost/dll/shared_library.hpp>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>

#include <dlfcn.h>

namespace fs = std::filesystem;

namespace graft::core::detail {
namespace {

// Loaded libraries are never unloaded: entries hold std::function objects and vtables whose code
// lives in the plugin. A leaked container avoids any destruction order at exit.
std::vector<boost::dll::shared_library>& pinned() {
  static auto* libs = new std::vector<boost::dll::shared_library>();
  return *libs;
}
std::mutex& pin_mutex() {
  static auto* m = new std::mutex();
  return *m;
}

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

std::string major_minor(const std::string& version) {
  auto first = version.find('.');
  if (first == std::string::npos) return version;
  auto second = version.find('.', first + 1);
  return second == std::string::npos ? version : version.substr(0, second);
}

#if defined(_GLIBCXX_USE_CXX11_ABI)
constexpr int32_t kHostCxx11Abi = _GLIBCXX_USE_CXX11_ABI;
#else
constexpr int32_t kHostCxx11Abi = -1;
#endif
#if defined(NDEBUG)
constexpr int32_t kHostDebug = 0;
#else
constexpr int32_t kHostDebug = 1;
#endif

void add_dir(std::vector<std::string>& out, std::set<std::string>& seen, const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) return;
  fs::path canon = fs::weakly_canonical(p, ec);
  if (ec) canon = p.lexically_normal();
  if (seen.insert(canon.string()).second) out.push_back(canon.string());
}

}  // namespace

bool looks_like_plugin_file(const std::string& filename) {
  constexpr std::string_view prefix = "libgraft_", suffix = ".so";
  if (filename.size() <= prefix.size() + suffix.size()) return false;
  if (filename.compare(0, prefix.size(), prefix) != 0) return false;
  if (filename.compare(filename.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  return filename != "libgraft_core.so" && filename != "libgraft_sdk.so";
}

std::vector<std::string> env_plugin_dirs() {
  std::vector<std::string> out;
  const char* env = std::getenv("GRAFT_PLUGIN_PATH");
  if (!env) return out;
  std::string s = env;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> default_plugin_dirs() {
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && !exe.empty()) {
    fs::path prefix = exe.parent_path().parent_path();
    add_dir(out, seen, prefix / GRAFT_PLUGIN_INSTALL_DIR_REL);
    add_dir(out, seen, prefix / "lib" / "graft" / "plugins");
  }
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_plugin_dirs), &info) && info.dli_fname) {
    fs::path lib = fs::weakly_canonical(fs::path(info.dli_fname), ec);
    if (ec) lib = info.dli_fname;
    add_dir(out, seen, lib.parent_path() / "graft" / "plugins");
  }
  return out;
}

const graft_plugin_descriptor& open_plugin(const std::string& file, PluginRecord& rec) {
  namespace dll = boost::dll;
  dll::shared_library lib;
  try {
    lib.load(fs::path(file), dll::load_mode::rtld_now | dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    // Boost 1.74 puts dlerror()'s text (undefined symbol, wrong ELF class, ...) in what().
    throw PluginError(cat("plugin ", file, " cannot be loaded: ", e.what()));
  }
  // Pinned even when a check below rejects it: its static initialisers have already run, and
  // unloading such a library (atexit handlers, registrations in LibTorch) is what crashes.
  {
    std::lock_guard<std::mutex> lock(pin_mutex());
    pinned().push_back(lib);
  }
  if (!lib.has(GRAFT_PLUGIN_ENTRY))
    throw PluginError(cat("plugin ", file, " has no ", GRAFT_PLUGIN_ENTRY,
                          " symbol; was it built with GRAFT_PLUGIN(...)?"));
  auto entry = lib.get<const graft_plugin_descriptor*()>(GRAFT_PLUGIN_ENTRY);
  const graft_plugin_descriptor* d = entry();
  if (!d) throw PluginError(cat("plugin ", file, ": ", GRAFT_PLUGIN_ENTRY, " returned no descriptor"));

  // abi_version and struct_size are the first two fields in every ABI version: always readable.
  if (d->abi_version != GRAFT_PLUGIN_ABI_VERSION)
    throw PluginError(cat("plugin ", file, " was built for plugin ABI v", d->abi_version,
                          " but this graft speaks v", GRAFT_PLUGIN_ABI_VERSION, "; rebuild it against graft SDK ",
                          major_minor(GRAFT_VERSION)));
  if (d->struct_size != sizeof(graft_plugin_descriptor))
    throw PluginError(cat("plugin ", file, " has a descriptor of ", d->struct_size, " bytes but plugin ABI v",
                          GRAFT_PLUGIN_ABI_VERSION, " defines ", sizeof(graft_plugin_descriptor),
                          "; rebuild it against graft SDK ", major_minor(GRAFT_VERSION)));
  rec.id = str(d->id);
  rec.version = str(d->version);
  rec.kind = str(d->kind);
  rec.summary = str(d->summary);

  const auto& tc = d->toolchain;
  std::string sdk = str(tc.sdk_version), torch = str(tc.torch_version), compiler = str(tc.compiler);
  if (major_minor(sdk) != major_minor(GRAFT_VERSION))
    throw PluginError(cat("plugin ", file, " was built with graft SDK ", sdk.empty() ? "(unknown)" : sdk,
                          " but this graft is ", GRAFT_VERSION, "; rebuild it against graft SDK ",
                          major_minor(GRAFT_VERSION)));
  if (torch != GRAFT_TORCH_VERSION)
    throw PluginError(cat("plugin ", file, " was built with LibTorch ", torch.empty() ? "(unknown)" : torch,
                          " but graft runs LibTorch ", GRAFT_TORCH_VERSION,
                          "; plugins must use the same LibTorch build"));
  if (tc.cxx11_abi != kHostCxx11Abi)
    throw PluginError(cat("plugin ", file, " was built with _GLIBCXX_USE_CXX11_ABI=", tc.cxx11_abi, " (",
                          compiler, ") but graft uses ", kHostCxx11Abi,
                          "; plugins must use the same C++ standard library ABI"));
  if (tc.debug_build != kHostDebug)
    log::debug("plugin ", file, " is a ", tc.debug_build ? "debug" : "release", " build; graft is a ",
               kHostDebug ? "debug" : "release", " build");
  if (rec.id.empty()) throw PluginError(cat("plugin ", file, " has an empty id in its descriptor"));
  if (!d->register_components)
    throw PluginError(cat("plugin ", file, " (", rec.id, ") has no registration function in its descriptor"));
  std::string stem = fs::path(file).filename().string();
  if (looks_like_plugin_file(stem) && stem != "libgraft_" + rec.id + ".so")
    log::warn("plugin ", file, " has id '", rec.id, "'; expected the file to be named libgraft_", rec.id, ".so");
  return *d;
}

}  // namespace graft::core::detail
