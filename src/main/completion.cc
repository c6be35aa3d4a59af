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
  // The same facts as lists, for the zsh and fish scripts.
  std::vector<std::string> path_list;
  std::vector<std::string> value_list;                       // "path:--option"
  std::vector<std::pair<std::string, std::string>> word_list;  // path, words
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
        tables.value_list.push_back(path + ":--" + name);
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
  tables.word_list.emplace_back(path, words);
  for (const CLI::App* sub : VisibleSubcommands(app)) {
    std::string sub_path = path + " " + sub->get_name();
    tables.paths += tables.paths.empty() ? "" : "|";
    tables.paths += "\"" + sub_path + "\"";
    tables.path_list.push_back(sub_path);
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

std::string ZshCompletion(const CLI::App& root) {
  Tables tables;
  Walk(root, root.get_name(), tables);
  // zsh's `words` and `path` are special parameters: this script uses others.
  std::string value_cases;
  for (const std::string& v : tables.value_list) {
    value_cases += "    \"" + v + "\") _files; return ;;\n";
  }
  std::string word_cases;
  for (const auto& [path, words] : tables.word_list) {
    word_cases += "    \"" + path + "\") cands=\"" + words + "\" ;;\n";
  }
  std::string script = R"(#compdef NAME
# zsh completion for NAME, made by `NAME completion zsh`.
_NAME() {
  local cmdpath="NAME" prev="${words[CURRENT-1]}" cands="" i
  for ((i = 2; i < CURRENT; i++)); do
    case "$cmdpath ${words[i]}" in
      PATHS) cmdpath="$cmdpath ${words[i]}" ;;
    esac
  done
  case "$cmdpath:$prev" in
VALUE_CASES  esac
  case "$cmdpath" in
WORD_CASES  esac
  compadd -- ${=cands}
}
if (( $+functions[compdef] )); then compdef _NAME NAME; fi
)";
  Replace(script, "PATHS", tables.paths.empty() ? "\"\"" : tables.paths);
  Replace(script, "VALUE_CASES", value_cases);
  Replace(script, "WORD_CASES", word_cases);
  Replace(script, "NAME", root.get_name());
  return script;
}

std::string FishCompletion(const CLI::App& root) {
  Tables tables;
  Walk(root, root.get_name(), tables);
  auto quote = [](const std::string& s) { return "'" + s + "'"; };
  std::string paths, values, word_cases;
  for (const std::string& p : tables.path_list) paths += " " + quote(p);
  for (const std::string& v : tables.value_list) values += " " + quote(v);
  for (const auto& [path, words] : tables.word_list) {
    word_cases += "    case " + quote(path) + "\n      string split ' ' -- " + quote(words) +
                  "\n";
  }
  std::string script = R"(# fish completion for NAME, made by `NAME completion fish`.
function __NAME_complete
  set -l tokens (commandline -opc)
  set -l cmdpath NAME
  for t in $tokens[2..-1]
    switch "$cmdpath $t"
      case PATHS
        set cmdpath "$cmdpath $t"
    end
  end
  switch "$cmdpath:$tokens[-1]"
    case VALUES
      __fish_complete_path (commandline -ct)
      return
  end
  switch "$cmdpath"
WORD_CASES  end
end
complete -c NAME -f -a '(__NAME_complete)'
)";
  Replace(script, "PATHS", paths.empty() ? "''" : paths.substr(1));
  Replace(script, "VALUES", values.empty() ? "''" : values.substr(1));
  Replace(script, "WORD_CASES", word_cases);
  Replace(script, "NAME", root.get_name());
  return script;
}

}  // namespace coffer::main
