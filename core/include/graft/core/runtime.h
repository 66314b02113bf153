#pragma once
// Process-wide settings owned by core: logging (spdlog behind the SDK facade), LibTorch
// threads, device choice. Plugins never touch these.
#include <graft/log.h>

#include <torch/torch.h>

#include <string>

namespace graft::core {

struct RuntimeOptions {
  std::string log_level = "info";  ///< trace|debug|info|warn|error|off
  int threads = 0;                 ///< 0 = every available core
  std::string device = "auto";     ///< auto|cpu|cuda|cuda:N
};

/// Installs the spdlog sink, sets LibTorch intra-op threads. Safe to call more than once.
void init_runtime(const RuntimeOptions& options);
/// Parses "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1"; ConfigError otherwise.
torch::Device resolve_device(const std::string& spec);
/// Cores this process may use (sched_getaffinity), at least 1.
int available_cores();
/// Parses a level name; ConfigError on unknown names.
log::Level parse_log_level(const std::string& name);
/// True when stderr is a terminal (progress bars redraw; otherwise plain lines).
bool stderr_is_tty();

}  // namespace graft::core
