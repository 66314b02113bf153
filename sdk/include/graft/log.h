#pragma once
// Logging facade. Core installs the sink (spdlog); plugins only call these functions.
#include <graft/error.h>
#include <graft/export.h>

#include <string_view>

namespace graft::log {

enum class Level { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

using Sink = void (*)(Level, std::string_view);

GRAFT_SDK_API void set_sink(Sink sink);
GRAFT_SDK_API void set_level(Level level);
GRAFT_SDK_API Level level();
GRAFT_SDK_API void write(Level level, std::string_view message);

template <class... A> void debug(const A&... a) { if (level() <= Level::debug) write(Level::debug, cat(a...)); }
template <class... A> void info(const A&... a) { if (level() <= Level::info) write(Level::info, cat(a...)); }
template <class... A> void warn(const A&... a) { if (level() <= Level::warn) write(Level::warn, cat(a...)); }
template <class... A> void error(const A&... a) { if (level() <= Level::error) write(Level::error, cat(a...)); }

}  // namespace graft::log
