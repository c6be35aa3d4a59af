#include "util/private_file.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::util {
namespace {

namespace fs = std::filesystem;

class PrivateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.empty());
    old_umask_ = ::umask(022);  // a permissive caller: the file must be private anyway
  }
  void TearDown() override {
    ::umask(old_umask_);
  }

  std::string File(const std::string& name) const { return dir_ + "/" + name; }

  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static mode_t Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  // Every name in the directory: no temporary file may be left behind.
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::ScopedTempDir temp_;
  const std::string& dir_ = temp_.path();
  mode_t old_umask_ = 0;
};

TEST_F(PrivateFileTest, CreatesTheFileOwnerOnly) {
  ASSERT_TRUE(IsOk(WritePrivateFile(File("key"), std::string("a\0b", 3))));
  EXPECT_EQ(Read(File("key")), std::string("a\0b", 3));
  EXPECT_EQ(Mode(File("key")), 0600u);
  EXPECT_EQ(Names(), std::vector<std::string>{"key"});
}

TEST_F(PrivateFileTest, ReplaceOverwritesAndNarrowsTheMode) {
  {
    std::ofstream out(File("config"));
    out << "old";
  }
  ASSERT_EQ(::chmod(File("config").c_str(), 0644), 0);
  ASSERT_TRUE(IsOk(WritePrivateFile(File("config"), "new", IfExists::kReplace)));
  EXPECT_EQ(Read(File("config")), "new");
  EXPECT_EQ(Mode(File("config")), 0600u);
  EXPECT_EQ(Names(), std::vector<std::string>{"config"});
}

// kKeep never replaces: the existing file and its content stay.
TEST_F(PrivateFileTest, KeepRefusesAnExistingFile) {
  ASSERT_TRUE(IsOk(WritePrivateFile(File("root.key"), "first", IfExists::kKeep)));
  EXPECT_TRUE(HasError(WritePrivateFile(File("root.key"), "second", IfExists::kKeep),
                       ErrorCode::kAlreadyExists));
  EXPECT_EQ(Read(File("root.key")), "first");
  EXPECT_EQ(Names(), std::vector<std::string>{"root.key"});
}

// A symlink at the path is replaced (rename), never written through.
TEST_F(PrivateFileTest, ReplaceDoesNotFollowASymlink) {
  {
    std::ofstream out(File("target"));
    out << "untouched";
  }
  fs::create_symlink(File("target"), File("link"));
  ASSERT_TRUE(IsOk(WritePrivateFile(File("link"), "new")));
  EXPECT_EQ(Read(File("target")), "untouched");
  EXPECT_FALSE(fs::is_symlink(File("link")));
  EXPECT_EQ(Read(File("link")), "new");
}

TEST_F(PrivateFileTest, MissingDirectoryIsUnavailable) {
  EXPECT_TRUE(HasError(WritePrivateFile(File("no/such/dir/f"), "x"), ErrorCode::kUnavailable));
}

// The error names the path, never the content.
TEST_F(PrivateFileTest, ErrorsDoNotCarryTheContent) {
  auto r = WritePrivateFile(File("no/such/dir/f"), "CANARY-content");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.find("CANARY"), std::string::npos);
  EXPECT_NE(r.error().message.find("no/such/dir/f"), std::string::npos);
}

}  // namespace
}  // namespace coffer::util
