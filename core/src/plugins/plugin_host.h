#pragma once
// Internal to core: opening plugin files and checking their descriptor (plugin_host.cpp), used
// by the registry (registry.cpp). Nothing here is part of the SDK contract.
#include <graft/core/registry.h>
#include <graft/plugin_abi.h>

#include <string>
#include <vector>

namespace graft::core::detail {

/// Opens `file` (RTLD_NOW | RTLD_LOCAL), reads its C descriptor and checks struct size, ABI
/// version, SDK major.minor, LibTorch version and the C++ ABI flag before any plugin C++ runs.
/// Fills rec.id/version/kind/summary as far as they could be read. The library is pinned for the
/// life of the process. Throws PluginError naming the file on any problem.
const graft_plugin_descriptor& open_plugin(const std::string& file, PluginRecord& rec);

/// Directories from GRAFT_PLUGIN_PATH (colon-separated, empty entries ignored).
std::vector<std::string> env_plugin_dirs();
/// The plugin directory beside the executable (/proc/self/exe) and beside libgraft_core.so
/// (dladdr): "<dir>/../<GRAFT_PLUGIN_INSTALL_DIR_REL>", "<dir>/../lib/graft/plugins",
/// "<libdir>/graft/plugins"; only those that exist, deduplicated.
std::vector<std::string> default_plugin_dirs();
/// True for "libgraft_<id>.so" files other than the core and sdk libraries.
bool looks_like_plugin_file(const std::string& filename);

}  // namespace graft::core::detail
