#include "main/completion.h"

#include <string>
#include <string_view>
#include <vector>

namespace coffer::main {
namespace {

std::vector<const CLI::App*> VisibleSubcommands(const CLI::App& app) {
  // With a filter, CLI11 lists every subcommand (without one, only the parsed ones).
  // Option groups are nameless subcommands: their options belong to the parent.
  return app.get_subcommands(
      [](const CLI::App* sub) { return !sub->get_name().empty() && !sub->get_group().empty(); });
}

struct Tables {
  std::string paths;        // case patterns of every command path below the root
  std::string value_cases;  // "path:--option" patterns of options that take a value
  std::string word_cases;   // path) words="..." ;;
};

// Adds the long options of `app` and of its option groups (nameless subcommands in CLI11).
void AddOptions(const CLI::App& app, const std::string& path, std::string& words, Tables& tables) {
  const bool is_group = app.get_name().empty();
  for (const CLI::Option* option : app.get_options([](const CLI::Option*) { return true; })) {
    if (is_group && option == app.get_help_ptr()) continue;  // the command's own --help is enough
    for (const std::string& name : option->get_lnames()) {
      words += "--" + name + " ";
      if (option->get_expected_max() > 0) {
        tables.value_cases += "    \"" + path + ":--" + name + "\") return 0 ;;\n";
      }
    }
  }
  for (const CLI::App* group :
       app.get_subcommands([](const CLI::App* sub) { return sub->get_name().empty(); })) {
    AddOptions(*group, path, words, tables);
  }
}

void Walk(const CLI::App& app, const std::string& path, Tables& tables) {
  std::string words;
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    words += sub->get_name() + " ";
  }
  AddOptions(app, path, words, tables);
  if (!words.empty()) words.pop_back();
  tables.word_cases += "    \"" + path + "\") words=\"" + words + "\" ;;\n";
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    std::string sub_path = path + " " + sub->get_name();
    tables.paths += tables.paths.empty() ? "" : "|";
    tables.paths += "\"" + sub_path + "\"";
    Walk(*sub, sub_path, tables);
  }
}

// Replaces every `placeholder` in `text` with `value`.
void Replace(std::string& text, std::string_view placeholder, const std::string& value) {
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

}  // namespace

std::string BashCompletion(const CLI::App& root) {
  Tables tables;
  Walk(root, root.get_name(), tables);
  std::string script = R"(# bash completion for NAME, made by `NAME completion bash`.
_NAME() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" path="NAME" words="" i
  COMPREPLY=()
  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "$path ${COMP_WORDS[i]}" in
      PATHS) path="$path ${COMP_WORDS[i]}" ;;
    esac
  done
  # After an option that takes a value: bash's default (file name) completion.
  case "$path:$prev" in
VALUE_CASES  esac
  case "$path" in
WORD_CASES  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _NAME NAME
)";
  Replace(script, "PATHS", tables.paths.empty() ? "\"\"" : tables.paths);
  Replace(script, "VALUE_CASES", tables.value_cases);
  Replace(script, "WORD_CASES", tables.word_cases);
  Replace(script, "NAME", root.get_name());
  return script;
}

}  // namespace coffer::main
