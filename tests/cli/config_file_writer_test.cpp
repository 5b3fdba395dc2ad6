// cli/config_file_writer: a file replaced whole or not at all, keeping its owner and mode.
#include "cli/config_file_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace postern::cli {
namespace {

class ConfigFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/config-file-writer-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::string command = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }
  std::string path(const char* name) const { return dir_ + "/" + name; }
  static std::string contents(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static mode_t mode_of(const std::string& file) {
    struct stat st {};
    EXPECT_EQ(::stat(file.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    DIR* folder = ::opendir(dir_.c_str());
    while (dirent* entry = ::readdir(folder)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(folder);
    return names;
  }
  std::string dir_;
};

TEST_F(ConfigFileWriterTest, CreatesWithTheAskedModeThenKeepsTheFilesOwn) {
  Result<WriteOutcome> created = replace_file(path("main.cf"), "a = b\n", NewFileMode{0640});
  ASSERT_TRUE(created);
  EXPECT_EQ(*created, WriteOutcome::kCreated);
  EXPECT_EQ(contents(path("main.cf")), "a = b\n");
  EXPECT_EQ(mode_of(path("main.cf")), 0640u);

  ASSERT_EQ(::chmod(path("main.cf").c_str(), 0604), 0);
  Result<WriteOutcome> replaced = replace_file(path("main.cf"), "a = c\n", NewFileMode{0644});
  ASSERT_TRUE(replaced);
  EXPECT_EQ(*replaced, WriteOutcome::kReplaced);
  EXPECT_EQ(contents(path("main.cf")), "a = c\n");
  EXPECT_EQ(mode_of(path("main.cf")), 0604u) << "the admin's mode was not kept";
  EXPECT_EQ(entries(), std::vector<std::string>{"main.cf"}) << "a temporary file was left";
}

TEST_F(ConfigFileWriterTest, SameTextWritesNothing) {
  ASSERT_TRUE(replace_file(path("mailname"), "example.org\n", NewFileMode{}));
  struct stat before {};
  ASSERT_EQ(::stat(path("mailname").c_str(), &before), 0);
  Result<WriteOutcome> again = replace_file(path("mailname"), "example.org\n", NewFileMode{});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, WriteOutcome::kUnchanged);
  struct stat after {};
  ASSERT_EQ(::stat(path("mailname").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
}

TEST_F(ConfigFileWriterTest, ForcedModeForSecrets) {
  ASSERT_TRUE(replace_file(path("relay_credentials"), "[h] u:p\n", NewFileMode{0644}));
  ASSERT_EQ(mode_of(path("relay_credentials")), 0644u);
  NewFileMode secret{0600, static_cast<uid_t>(-1), static_cast<gid_t>(-1), true};
  // Same text but the wrong mode: written again, now 0600.
  Result<WriteOutcome> fixed = replace_file(path("relay_credentials"), "[h] u:p\n", secret);
  ASSERT_TRUE(fixed);
  EXPECT_EQ(*fixed, WriteOutcome::kReplaced);
  EXPECT_EQ(mode_of(path("relay_credentials")), 0600u);
  Result<WriteOutcome> again = replace_file(path("relay_credentials"), "[h] u:p\n", secret);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, WriteOutcome::kUnchanged);
}

TEST_F(ConfigFileWriterTest, RefusesToReplaceASymbolicLink) {
  ASSERT_TRUE(replace_file(path("target"), "kept\n", NewFileMode{}));
  ASSERT_EQ(::symlink(path("target").c_str(), path("main.cf").c_str()), 0);
  EXPECT_FALSE(replace_file(path("main.cf"), "x\n", NewFileMode{}));
  EXPECT_EQ(contents(path("target")), "kept\n");
}

TEST_F(ConfigFileWriterTest, MissingFolderIsAnErrorAndReadSaysNotFound) {
  EXPECT_FALSE(replace_file(dir_ + "/no/such/main.cf", "x\n", NewFileMode{}));
  Result<std::string> missing = read_config_file(path("absent"), 100);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(replace_file(path("big"), std::string(101, 'x'), NewFileMode{}));
  EXPECT_TRUE(read_config_file(path("big"), 101));
  EXPECT_FALSE(read_config_file(path("big"), 100));
}

TEST_F(ConfigFileWriterTest, OneEditorAtATime) {
  Result<UniqueFd> first = lock_config_directory(dir_);
  ASSERT_TRUE(first);
  // flock locks belong to the open file: a second open, as another process would have, waits.
  UniqueFd other(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(other);
  EXPECT_NE(::flock(other.get(), LOCK_EX | LOCK_NB), 0);
  first->reset();
  EXPECT_EQ(::flock(other.get(), LOCK_EX | LOCK_NB), 0);
  EXPECT_FALSE(lock_config_directory(dir_ + "/absent"));
}

}  // namespace
}  // namespace postern::cli
