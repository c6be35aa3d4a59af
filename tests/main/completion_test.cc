#include "main/completion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace coffer::main {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CompletionTest : public ::testing::Test {
 protected:
  CompletionTest() {
    CLI::App* server = root_.add_subcommand("server", "run");
    server->add_flag("--dev", dev_, "dev");
    server->add_option("--data-dir", dir_, "dir");
    server->add_option_group("TLS")->add_option("--tls-cert-file", dir_, "cert");
    CLI::App* audit = root_.add_subcommand("audit", "audit");
    audit->add_subcommand("verify", "verify")->add_option("--data-dir", dir_, "dir");
    audit->add_subcommand("tail", "tail");
    root_.add_subcommand("completion", "hidden")->group("");
  }

  // What the generated function offers for the words typed so far (the last
  // one being completed), as bash prints COMPREPLY: space-separated.
  std::string Complete(const std::string& words) {
    std::string script = temp_.File("coffer.bash");
    std::ofstream(script) << BashCompletion(root_);
    std::string driver = temp_.File("driver.bash");
    std::ofstream(driver) << "source " << script << "\nCOMP_WORDS=(" << words
                          << ")\nCOMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_coffer\n"
                          << "echo \"${COMPREPLY[*]}\"\n";
    std::string command = "bash --norc --noprofile " + driver + " 2>&1";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return "popen failed";
    char buf[512];
    while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
    pclose(pipe);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // Runs `script` with `shell` and returns its output without the final newline.
  std::string RunShell(const std::string& shell, const std::string& script) {
    std::string file = temp_.File("driver." + shell);
    std::ofstream(file) << script;
    std::string command = shell + " " + file + " 2>&1";
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return "popen failed";
    char buf[512];
    while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
    pclose(pipe);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  // What the zsh function hands to compadd (zsh itself then filters by the prefix), with
  // compadd and _files stubbed, as space-separated words.
  std::string CompleteZsh(const std::string& words) {
    std::string script = temp_.File("coffer.zsh");
    std::ofstream(script) << ZshCompletion(root_);
    return RunShell("zsh", "source " + script +
                               "\ncompadd() { [[ $1 == -- ]] && shift; print -r -- \"$@\"; }\n"
                               "_files() { print FILES; }\nwords=(" + words +
                               ")\nCURRENT=${#words}\n_coffer\n");
  }

  // What fish offers for the command line `line`, newline-separated.
  std::string CompleteFish(const std::string& line) {
    std::string script = temp_.File("coffer.fish");
    std::ofstream(script) << FishCompletion(root_);
    return RunShell("fish", "source " + script + "\ncomplete -C '" + line + "'\n");
  }

  static bool Has(const char* shell) {
    return std::system((std::string("command -v ") + shell + " >/dev/null").c_str()) == 0;
  }

  CLI::App root_{"test", "coffer"};
  bool dev_ = false;
  std::string dir_;
  testing::ScopedTempDir temp_;
};

// The first word completes to the visible subcommands; hidden ones are left out.
TEST_F(CompletionTest, CompletesVisibleSubcommands) {
  EXPECT_EQ(Complete("coffer \"\""), "server audit --help");
  EXPECT_EQ(Complete("coffer se"), "server");
  EXPECT_THAT(BashCompletion(root_), Not(HasSubstr("\"coffer completion\"")));
}

// After a command path, that command's options and subcommands.
TEST_F(CompletionTest, CompletesOptionsAndNestedSubcommands) {
  EXPECT_EQ(Complete("coffer server --d"), "--dev --data-dir");
  EXPECT_EQ(Complete("coffer server --t"), "--tls-cert-file");  // from an option group
  EXPECT_EQ(Complete("coffer audit \"\""), "verify tail --help");
  EXPECT_EQ(Complete("coffer audit verify --"), "--help --data-dir");
}

// After an option that takes a value, nothing is offered (bash falls back to file names).
TEST_F(CompletionTest, ValueOfAnOptionFallsBackToFiles) {
  EXPECT_EQ(Complete("coffer server --data-dir \"\""), "");
  EXPECT_EQ(Complete("coffer server --dev \"\""), "--help --dev --data-dir --tls-cert-file");
}

TEST_F(CompletionTest, Zsh) {
  if (!Has("zsh")) GTEST_SKIP() << "zsh is not installed (apt-get install zsh)";
  EXPECT_EQ(CompleteZsh("coffer \"\""), "server audit --help");
  EXPECT_EQ(CompleteZsh("coffer server --d"), "--help --dev --data-dir --tls-cert-file");
  EXPECT_EQ(CompleteZsh("coffer audit verify \"\""), "--help --data-dir");
  EXPECT_EQ(CompleteZsh("coffer server --data-dir \"\""), "FILES");
  EXPECT_THAT(ZshCompletion(root_), Not(HasSubstr("\"coffer completion\"")));
}

TEST_F(CompletionTest, Fish) {
  if (!Has("fish")) GTEST_SKIP() << "fish is not installed (apt-get install fish)";
  EXPECT_EQ(CompleteFish("coffer se"), "server");
  EXPECT_EQ(CompleteFish("coffer audit "), "tail\nverify\n--help");  // fish sorts
  EXPECT_EQ(CompleteFish("coffer server --t"), "--tls-cert-file");
  EXPECT_THAT(FishCompletion(root_), Not(HasSubstr("'coffer completion'")));
}

}  // namespace
}  // namespace coffer::main
