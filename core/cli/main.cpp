// graft: command-line front end. Parses global options, dispatches to a command, maps errors
// to exit codes: 0 ok, 1 internal error, 2 configuration/usage, 3 data/format, 4 plugin.
#include "cli.h"

#include <graft/error.h>
#include <graft/version.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace graft::cli {
std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}
}  // namespace graft::cli

namespace {

void print_help(std::ostream& os) {
  using namespace graft::cli;
  auto cmds = commands();
  std::sort(cmds.begin(), cmds.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
  os << "graft " << GRAFT_VERSION << " — adapt pretrained transformer encoders to tasks\n\n"
     << "usage: graft [global options] COMMAND [command options]\n\ncommands:\n";
  for (const auto& c : cmds) {
    os << "  " << c.name;
    for (size_t i = c.name.size(); i < 12; ++i) os << ' ';
    os << c.summary << "\n";
  }
  os << "\nglobal options (before or after the command):\n"
     << "  --log-level LEVEL   trace|debug|info|warn|error|off (default info)\n"
     << "  --threads N         LibTorch threads (default: every available core)\n"
     << "  --device D          auto|cpu|cuda|cuda:N (default auto)\n"
     << "  --plugin-path DIR   extra plugin directory (repeatable; also GRAFT_PLUGIN_PATH)\n"
     << "  -h, --help          this text; `graft COMMAND --help` for a command\n"
     << "  --version           print versions\n"
     << "\nexit codes: 0 ok, 1 internal error, 2 bad recipe/usage, 3 bad data or model files, 4 plugin problem,\n"
     << "            5 training stopped by SIGTERM/SIGINT after writing a checkpoint (graft train --resume latest)\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace graft::cli;
  CliContext ctx;
  ctx.argv0 = argc > 0 ? argv[0] : "graft";
  std::vector<std::string> rest;
  std::string command;
  bool want_help = false;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&](const std::string& flag) -> std::string {
        auto eq = a.find('=');
        if (eq != std::string::npos) return a.substr(eq + 1);
        if (i + 1 >= argc) throw graft::ConfigError(graft::cat(flag, " needs a value"));
        return argv[++i];
      };
      auto is = [&](const char* flag) { return a == flag || a.rfind(std::string(flag) + "=", 0) == 0; };
      if (is("--log-level")) ctx.runtime.log_level = value("--log-level");
      else if (is("--threads")) ctx.runtime.threads = std::stoi(value("--threads"));
      else if (is("--device")) ctx.runtime.device = value("--device");
      else if (is("--plugin-path")) ctx.plugin_paths.push_back(value("--plugin-path"));
      else if (a == "--version") {
        std::cout << "graft " << GRAFT_VERSION << " (LibTorch " << GRAFT_TORCH_VERSION << ")\n";
        return 0;
      } else if (command.empty() && (a == "-h" || a == "--help")) want_help = true;
      else if (command.empty() && !a.empty() && a[0] != '-') command = a;
      else rest.push_back(a);
    }
    if (command.empty() || command == "help") {
      print_help(want_help || command == "help" ? std::cout : std::cerr);
      return want_help || command == "help" ? 0 : 2;
    }
    if (want_help) rest.insert(rest.begin(), "--help");
    graft::core::init_runtime(ctx.runtime);
    for (auto& c : commands())
      if (c.name == command) return c.run(ctx, rest);
    std::cerr << "graft: unknown command '" << command << "'\n\n";
    print_help(std::cerr);
    return 2;
  } catch (const graft::ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const graft::DataError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  } catch (const graft::FormatError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  } catch (const graft::PluginError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 4;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
