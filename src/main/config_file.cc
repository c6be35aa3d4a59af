#include "main/config_file.h"

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"

namespace coffer::main {
namespace {

constexpr std::string_view kConfigKey = "config";

// "coffer server": the command as a user types it, for messages.
std::string CommandPath(const CLI::App& command) {
  std::string path = command.get_name();
  for (const CLI::App* p = command.get_parent(); p != nullptr; p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

[[noreturn]] void Refuse(const CLI::App& command, const std::string& source, int line,
                         const std::string& what) {
  throw CLI::ConfigError(CommandPath(command) + ": " + source + ":" + std::to_string(line) + ": " +
                         what);
}

// Adds the options of `app` and of its option groups (nameless subcommands in CLI11).
void CollectKeys(CLI::App& app, std::map<std::string, CLI::Option*>& keys) {
  for (CLI::Option* option : app.get_options()) {
    if (option == app.get_help_ptr() || option == app.get_help_all_ptr()) continue;
    for (const std::string& name : option->get_lnames()) {
      if (name != kConfigKey) keys.emplace(name, option);
    }
  }
  for (CLI::App* group :
       app.get_subcommands([](CLI::App* sub) { return sub->get_name().empty(); })) {
    CollectKeys(*group, keys);
  }
}

// The options a config file may set, by key: each long name of each option,
// except --help, --help-all and --config itself.
std::map<std::string, CLI::Option*> KeysOf(CLI::App& command) {
  std::map<std::string, CLI::Option*> keys;
  CollectKeys(command, keys);
  return keys;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean 'listen'?)" when one key is close to `key`, else "".
std::string Suggestion(const std::string& key, const std::map<std::string, CLI::Option*>& keys) {
  std::string best;
  size_t best_distance = 3;  // suggest only within two edits
  for (const auto& [name, option] : keys) {
    size_t d = EditDistance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

bool IsFlag(const CLI::Option& option) { return option.get_expected_max() == 0; }
bool TakesList(const CLI::Option& option) { return option.get_expected_max() > 1; }

// YAML 1.2 core schema booleans.
bool IsBool(std::string_view s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE";
}

}  // namespace

void ApplyConfigEntries(CLI::App& command, const std::vector<server::ConfigEntry>& entries,
                        const std::string& source) {
  const std::map<std::string, CLI::Option*> keys = KeysOf(command);
  // Keys and the shapes of values first; then each option's own checks as it is set.
  for (const server::ConfigEntry& entry : entries) {
    auto it = keys.find(entry.key);
    if (it == keys.end()) {
      if (entry.key == kConfigKey) {
        Refuse(command, source, entry.line, "a config file cannot name another ('config')");
      }
      Refuse(command, source, entry.line,
             "unknown key '" + entry.key + "'" + Suggestion(entry.key, keys));
    }
    const CLI::Option& option = *it->second;
    if (!option.get_configurable()) {
      Refuse(command, source, entry.line, "key '" + entry.key + "' cannot be set in a file");
    }
    if (IsFlag(option)) {
      if (entry.is_list || entry.values.size() != 1 || !IsBool(entry.values[0])) {
        Refuse(command, source, entry.line, "key '" + entry.key + "' wants true or false");
      }
    } else if (entry.is_list && !TakesList(option)) {
      Refuse(command, source, entry.line,
             "key '" + entry.key + "' wants a single value, not a list");
    }
  }
  for (const server::ConfigEntry& entry : entries) {
    CLI::Option* option = keys.at(entry.key);
    if (option->count() > 0) continue;   // given on the command line, which wins
    if (entry.values.empty()) continue;  // an empty list sets nothing
    try {
      if (IsFlag(*option)) {
        bool on = entry.values[0][0] == 't' || entry.values[0][0] == 'T';
        option->add_result(option->get_flag_value(entry.key, on ? "true" : "false"));
      } else {
        option->add_result(entry.values);
      }
      option->run_callback();  // runs the option's checks, then stores the value
    } catch (const CLI::ParseError& e) {
      Refuse(command, source, entry.line, "key '" + entry.key + "': " + e.what());
    }
  }
}

void AddConfigFileOption(CLI::App& command) {
  CLI::App* app = &command;
  command
      .add_option_function<std::string>(
          "--" + std::string(kConfigKey),
          [app](const std::string& path) {
            auto entries = server::ReadConfigFile(path);
            if (!entries) {
              throw CLI::ConfigError(CommandPath(*app) + ": " + entries.error().message);
            }
            ApplyConfigEntries(*app, *entries, path);
          },
          "YAML file of settings: each key is an option's long name (data-dir: DIR, "
          "oidc-jwks: [..] for a repeatable one, true/false for a flag); options given on the "
          "command line override the file")
      ->type_name("FILE");
}

}  // namespace coffer::main
