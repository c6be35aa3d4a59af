// main/: the `coffer` command line. One table of commands (commands.cc); each
// entry adds its options to a CLI11 subcommand and returns the function that
// runs it. Roles (server, and later cli, agent, files) meet only here.
#pragma once

namespace coffer::main {

// Parses argv, runs the chosen command and returns the process exit code:
// 0 on success, 1 when the command failed, 2 for a usage error.
int RunCommandLine(int argc, char** argv);

}  // namespace coffer::main
