#pragma once
// CLI plumbing: each command lives in its own cmd_<name>.cpp and registers itself with
// GRAFT_CLI_COMMAND. Global options (--log-level, --threads, --device, --plugin-path) are
// parsed by main before the command runs and handed over in CliContext.
#include <graft/core/runtime.h>

#include <functional>
#include <string>
#include <vector>

namespace graft::cli {

struct CliContext {
  core::RuntimeOptions runtime;
  std::vector<std::string> plugin_paths;  ///< from --plugin-path (GRAFT_PLUGIN_PATH is read by core)
  std::string argv0;                      ///< for locating the plugin dir beside the executable
};

using CommandFn = std::function<int(CliContext&, const std::vector<std::string>& args)>;

struct Command {
  std::string name;
  std::string summary;  ///< one line for `graft --help`
  CommandFn run;
};

std::vector<Command>& commands();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string summary, CommandFn fn) {
    commands().push_back(Command{std::move(name), std::move(summary), std::move(fn)});
  }
};

}  // namespace graft::cli

#define GRAFT_CLI_CAT2_(a, b) a##b
#define GRAFT_CLI_CAT_(a, b) GRAFT_CLI_CAT2_(a, b)
#define GRAFT_CLI_COMMAND(NAME, SUMMARY, FN) \
  static ::graft::cli::CommandRegistration GRAFT_CLI_CAT_(graft_cli_cmd_, __LINE__)(NAME, SUMMARY, FN)
