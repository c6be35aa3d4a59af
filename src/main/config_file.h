// `--config FILE` for a command: a YAML file (read by server/config.h) whose keys
// are the long names of the command's options, without the dashes. The mapping
// is generic over the command's CLI11 options, so a new option gets its key by
// being added to the command, and the file is checked the way the command line
// is (the same validators run on its values).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "server/config.h"

namespace coffer::main {

// Adds `--config FILE` to `command`. When given, every key of FILE sets the
// option of the same long name, unless that option was given on the command
// line (the command line wins; a repeatable option from the command line
// replaces the file's whole list). Options the file sets count as given, so a
// required option may come from the file.
// Errors surface from CLI::App::parse as CLI::ConfigError (exit code 2 in
// RunCommandLine), with "coffer CMD: FILE:LINE: ..." messages: an unknown key,
// a list for a single-valued option, a value other than true/false for a flag,
// a value the option's own check refuses, and every error of ParseConfig.
void AddConfigFileOption(CLI::App& command);

// Applies parsed `entries` of the file `source` to `command` as described
// above. Exposed for tests; AddConfigFileOption calls it from the option's
// callback. Throws CLI::ConfigError.
void ApplyConfigEntries(CLI::App& command, const std::vector<server::ConfigEntry>& entries,
                        const std::string& source);

}  // namespace coffer::main
