// Shell completion generated from the command table: `coffer completion bash`
// (and zsh, fish) prints a script that completes subcommands and their options, so the
// completion stays in step with the commands without being edited by hand.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace coffer::main {

// The bash completion script for `root` and its visible subcommands (hidden
// ones, in the "" group, are left out), at any depth: after a command path it
// offers that command's subcommands and long options; after an option that
// takes a value it falls back to file name completion.
std::string BashCompletion(const CLI::App& root);

// The same completion for zsh (`source <(coffer completion zsh)` after
// compinit) and for fish (`coffer completion fish | source`).
std::string ZshCompletion(const CLI::App& root);
std::string FishCompletion(const CLI::App& root);

}  // namespace coffer::main
