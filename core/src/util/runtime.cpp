#include <graft/core/runtime.h>
#include <graft/error.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sched.h>
#include <unistd.h>

namespace graft::core {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static auto* l = new std::shared_ptr<spdlog::logger>(spdlog::stderr_color_mt("graft"));
  return *l;
}

void spdlog_sink(log::Level level, std::string_view msg) {
  auto& l = logger();
  switch (level) {
    case log::Level::trace: l->trace("{}", msg); break;
    case log::Level::debug: l->debug("{}", msg); break;
    case log::Level::info: l->info("{}", msg); break;
    case log::Level::warn: l->warn("{}", msg); break;
    case log::Level::error: l->error("{}", msg); break;
    case log::Level::off: break;
  }
}

}  // namespace

log::Level parse_log_level(const std::string& name) {
  if (name == "trace") return log::Level::trace;
  if (name == "debug") return log::Level::debug;
  if (name == "info") return log::Level::info;
  if (name == "warn" || name == "warning") return log::Level::warn;
  if (name == "error") return log::Level::error;
  if (name == "off") return log::Level::off;
  throw ConfigError(cat("--log-level: unknown level '", name, "' (expected trace, debug, info, warn, error or off)"));
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

void init_runtime(const RuntimeOptions& options) {
  auto level = parse_log_level(options.log_level);
  auto& l = logger();
  l->set_pattern("%H:%M:%S %^%l%$ %v");
  l->set_level(static_cast<spdlog::level::level_enum>(static_cast<int>(level)));
  log::set_level(level);
  log::set_sink(&spdlog_sink);
  int threads = options.threads > 0 ? options.threads : available_cores();
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
}

torch::Device resolve_device(const std::string& spec) {
  if (spec.empty() || spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::Device(torch::kCPU);
  if (spec.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw ConfigError(cat("device '", spec, "': CUDA is not available in this LibTorch build or on this machine"));
    try {
      return torch::Device(spec);
    } catch (const std::exception&) {
    }
  }
  throw ConfigError(cat("device '", spec, "': expected auto, cpu, cuda or cuda:N"));
}

}  // namespace graft::core
