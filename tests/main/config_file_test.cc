#include "main/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace coffer::main {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A command shaped like `coffer server`: a flag, a required scalar, a checked
// scalar, a repeatable option and a scalar with a default.
struct FakeServer {
  CLI::App root{"test", "coffer"};
  CLI::App* command = root.add_subcommand("server", "run");
  bool dev = false;
  std::string data_dir;
  int io_threads = 0;
  std::vector<std::string> jwks;
  std::string listen = "127.0.0.1:8200";

  FakeServer() {
    command->add_flag("--dev", dev, "dev");
    command->add_option("--data-dir", data_dir, "dir")->required();
    command->add_option("--io-threads", io_threads, "n")->check(CLI::Range(0, 1024));
    command->add_option("--oidc-jwks", jwks, "repeatable");
    command->add_option("--listen", listen, "where");
    AddConfigFileOption(*command);
  }

  // Parses `args` (after "coffer"); returns "" or the error message.
  std::string Parse(std::vector<std::string> args) {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
      root.parse(reversed);
    } catch (const CLI::ParseError& e) {
      return e.what();
    }
    return "";
  }
};

class ConfigFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = dir_.File("config.yaml");
    std::ofstream(path) << text;
    return path;
  }
  testing::ScopedTempDir dir_;
};

// Every kind of option takes its value from the file, and a required one is satisfied by it.
TEST_F(ConfigFileTest, FileSetsFlagsScalarsAndListsAndSatisfiesRequired) {
  std::string path = Write(
      "dev: true\ndata-dir: data/coffer\nio-threads: 4\n"
      "oidc-jwks: [a=1, b=2]\nlisten: 127.0.0.1:9000\n");
  FakeServer s;
  EXPECT_EQ(s.Parse({"server", "--config", path}), "");
  EXPECT_TRUE(s.dev);
  EXPECT_EQ(s.data_dir, "data/coffer");
  EXPECT_EQ(s.io_threads, 4);
  EXPECT_THAT(s.jwks, ElementsAre("a=1", "b=2"));
  EXPECT_EQ(s.listen, "127.0.0.1:9000");
}

// Options on the command line win over the file, before or after --config, and a
// repeatable option given there replaces the file's whole list.
TEST_F(ConfigFileTest, CommandLineOverridesTheFile) {
  std::string path =
      Write("data-dir: /from/file\nlisten: 127.0.0.1:9000\noidc-jwks: [a=1, b=2]\ndev: true\n");
  FakeServer s;
  EXPECT_EQ(s.Parse({"server", "--listen", "127.0.0.1:0", "--config", path, "--oidc-jwks", "c=3",
                     "--data-dir", "/from/flag", "--dev=false"}),
            "");
  EXPECT_EQ(s.listen, "127.0.0.1:0");
  EXPECT_EQ(s.data_dir, "/from/flag");
  EXPECT_THAT(s.jwks, ElementsAre("c=3"));
  EXPECT_FALSE(s.dev);
}

// `dev: false` in the file leaves the flag off.
TEST_F(ConfigFileTest, FalseFlagInTheFileLeavesItOff) {
  std::string path = Write("dev: false\ndata-dir: d\n");
  FakeServer s;
  EXPECT_EQ(s.Parse({"server", "--config", path}), "");
  EXPECT_FALSE(s.dev);
}

// An unknown key is named with its file and line, with the nearest real key suggested.
TEST_F(ConfigFileTest, UnknownKeyNamesKeyFileAndLine) {
  std::string path = Write("data-dir: d\n# a comment\nlistn: 127.0.0.1:0\n");
  FakeServer s;
  EXPECT_EQ(s.Parse({"server", "--config", path}),
            "coffer server: " + path + ":3: unknown key 'listn' (did you mean 'listen'?)");
}

// Without the file's keys, a required option is still missing.
TEST_F(ConfigFileTest, RequiredOptionMissingFromBothIsStillAnError) {
  std::string path = Write("listen: 127.0.0.1:0\n");
  FakeServer s;
  EXPECT_THAT(s.Parse({"server", "--config", path}), HasSubstr("--data-dir is required"));
}

// The shapes of values: a list for a single value, a non-boolean for a flag.
TEST_F(ConfigFileTest, WrongTypesAreRefusedWithTheirLine) {
  {
    std::string path = Write("data-dir: d\nlisten: [a, b]\n");
    FakeServer s;
    EXPECT_EQ(s.Parse({"server", "--config", path}),
              "coffer server: " + path + ":2: key 'listen' wants a single value, not a list");
  }
  {
    std::string path = Write("data-dir: d\ndev: maybe\n");
    FakeServer s;
    EXPECT_EQ(s.Parse({"server", "--config", path}),
              "coffer server: " + path + ":2: key 'dev' wants true or false");
  }
  {
    std::string path = Write("data-dir: d\ndev: [true]\n");
    FakeServer s;
    EXPECT_EQ(s.Parse({"server", "--config", path}),
              "coffer server: " + path + ":2: key 'dev' wants true or false");
  }
}

// A value is checked by the option's own validator, as on the command line.
TEST_F(ConfigFileTest, OptionChecksApplyToFileValues) {
  std::string path = Write("data-dir: d\nio-threads: 5000\n");
  FakeServer s;
  std::string error = s.Parse({"server", "--config", path});
  EXPECT_THAT(error, HasSubstr("coffer server: " + path + ":2: key 'io-threads': "));
  std::string not_a_number = Write("data-dir: d\nio-threads: many\n");
  FakeServer t;
  EXPECT_THAT(t.Parse({"server", "--config", not_a_number}), HasSubstr(":2: key 'io-threads': "));
}

// --config and --help cannot be set from a file.
TEST_F(ConfigFileTest, ConfigAndHelpAreNotKeys) {
  {
    std::string path = Write("config: other.yaml\n");
    FakeServer s;
    EXPECT_THAT(s.Parse({"server", "--config", path}), HasSubstr(":1: a config file cannot"));
  }
  {
    std::string path = Write("help: true\n");
    FakeServer s;
    EXPECT_THAT(s.Parse({"server", "--config", path}), HasSubstr(":1: unknown key 'help'"));
  }
}

// A missing file and a YAML syntax error are errors of the command.
TEST_F(ConfigFileTest, MissingFileAndSyntaxErrorsAreCommandErrors) {
  FakeServer s;
  EXPECT_THAT(s.Parse({"server", "--config", dir_.File("absent.yaml")}),
              HasSubstr("coffer server: cannot open config file"));
  std::string path = Write("data-dir: [d\n");
  FakeServer t;
  EXPECT_THAT(t.Parse({"server", "--config", path}), HasSubstr("coffer server: " + path + ":"));
}

// The mapping follows the command's options: an option added later has its key at once.
TEST_F(ConfigFileTest, NewOptionsGetKeysWithoutChangesHere) {
  std::string path = Write("data-dir: d\ntls-cert-file: /etc/coffer/cert.pem\n");
  FakeServer s;
  std::string cert;
  s.command->add_option("--tls-cert-file", cert, "cert");
  EXPECT_EQ(s.Parse({"server", "--config", path}), "");
  EXPECT_EQ(cert, "/etc/coffer/cert.pem");
}

// Options in an option group (as a group of TLS flags might be) have keys too.
TEST_F(ConfigFileTest, OptionsInOptionGroupsHaveKeys) {
  std::string path = Write("data-dir: d\ntls-key-file: /etc/coffer/key.pem\n");
  FakeServer s;
  std::string key;
  s.command->add_option_group("TLS")->add_option("--tls-key-file", key, "key");
  EXPECT_EQ(s.Parse({"server", "--config", path}), "");
  EXPECT_EQ(key, "/etc/coffer/key.pem");
}

}  // namespace
}  // namespace coffer::main
