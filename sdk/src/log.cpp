#include <graft/log.h>

#include <atomic>
#include <cstdio>

namespace graft::log {
namespace {
void stderr_sink(Level l, std::string_view msg) {
  static const char* names[] = {"trace", "debug", "info", "warn", "error", "off"};
  std::fprintf(stderr, "[%s] %.*s\n", names[static_cast<int>(l)], static_cast<int>(msg.size()), msg.data());
}
std::atomic<Sink> g_sink{&stderr_sink};
std::atomic<Level> g_level{Level::info};
}  // namespace

void set_sink(Sink sink) { g_sink.store(sink ? sink : &stderr_sink); }
void set_level(Level level) { g_level.store(level); }
Level level() { return g_level.load(); }
void write(Level level, std::string_view message) {
  if (level < g_level.load()) return;
  g_sink.load()(level, message);
}

}  // namespace graft::log
