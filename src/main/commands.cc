#include "main/commands.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "server/process.h"
#include "server/server_context.h"
#include "util/log.h"

namespace coffer::main {
namespace {

// Runs a parsed command; returns the exit code.
using Runner = std::function<int()>;

struct LoggingFlags {
  std::string level = "info";
  std::string file;
};

void AddLoggingFlags(CLI::App& command, LoggingFlags& flags) {
  command.add_option("--log-level", flags.level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  command.add_option("--log-file", flags.file, "append JSON log lines here instead of stderr");
}

// coffer server --dev --data-dir DIR --listen HOST:PORT [--region R] [--account-id A]
//               [--storage sqlite|memory] [--io-threads N] [--log-level L] [--log-file F]
Runner AddServer(CLI::App& command) {
  struct Flags {
    server::ServerOptions options;
    LoggingFlags logging;
    std::string storage = "sqlite";
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  command.add_flag("--dev", o.dev,
                   "development mode: root key kept in DATA_DIR, admin credentials written to "
                   "DATA_DIR/credentials");
  command.add_option("--data-dir", o.data_dir, "data directory (created 0700 if absent)")
      ->required();
  command.add_option("--listen", o.listen, "HOST:PORT to serve on; port 0 picks a free port")
      ->capture_default_str();
  command.add_option("--region", o.region, "AWS region the server answers as")
      ->capture_default_str();
  command.add_option("--account-id", o.account_id, "AWS account id used in ARNs")
      ->capture_default_str();
  command.add_option("--storage", flags->storage, "storage backend")
      ->check(CLI::IsMember({"sqlite", "memory"}))
      ->capture_default_str();
  command.add_option("--io-threads", o.http.io_threads, "io threads (0 = one per core)")
      ->check(CLI::Range(0, 1024));
  AddLoggingFlags(command, flags->logging);

  return [flags]() -> int {
    auto& options = flags->options;
    options.storage =
        flags->storage == "memory" ? server::StorageKind::kMemory : server::StorageKind::kSqlite;
    if (!options.dev) {
      std::fprintf(stderr,
                   "coffer server: production mode (sealed root key, unseal) is not implemented "
                   "yet; start with --dev\n");
      return 2;
    }
    util::InitLogging(util::ParseLogLevel(flags->logging.level), flags->logging.file);
    // Before any thread starts, so that every thread inherits the mask.
    server::BlockShutdownSignals();
    auto context = server::Start(options);
    if (!context) {
      std::fprintf(stderr, "coffer server: %s\n", context.error().message.c_str());
      return 1;
    }
    std::printf("listening on %s\n", (*context)->Url().c_str());
    std::fflush(stdout);
    int signal = server::WaitForShutdownSignal();
    util::LogInfo("shutting down", {{"signal", signal}});
    server::Stop(**context);
    context->reset();
    util::LogInfo("stopped");
    return 0;
  };
}

// coffer version
Runner AddVersion(CLI::App&) {
  return [] {
    std::printf("coffer %s\n", COFFER_VERSION);
    return 0;
  };
}

struct CommandSpec {
  const char* name;
  const char* help;
  Runner (*add)(CLI::App& command);
};

// The command table. New roles (login, file, agent, audit, chamber-style
// read/write/...) add a line here and an Add* function.
constexpr CommandSpec kCommands[] = {
    {"server", "run the secrets server", AddServer},
    {"version", "print the version", AddVersion},
};

}  // namespace

int RunCommandLine(int argc, char** argv) {
  CLI::App app{"coffer: a self-hosted secrets server speaking the AWS APIs", "coffer"};
  app.require_subcommand(1);
  std::map<const CLI::App*, Runner> runners;
  for (const CommandSpec& spec : kCommands) {
    CLI::App* command = app.add_subcommand(spec.name, spec.help);
    runners[command] = spec.add(*command);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const CLI::App* command : app.get_subcommands()) {
    auto it = runners.find(command);
    if (it != runners.end()) return it->second();
  }
  return 2;
}

}  // namespace coffer::main
