// Tests cli/accounts_file: the file read with the loader's checks (file:line errors), replaced
// atomically with its mode and owner kept and no temporary file left behind; a symbolic link
// followed (the link stays); data that would not read back as meant is never installed; a
// missing file reads as no accounts and is created 0600.
#include "cli/accounts_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/accounts_yaml.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t files_in(const std::string& folder) {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder)) ++count;
  return count;
}

class AccountsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = tmp_.path() + "/accounts.yaml";
    std::ofstream(path_) << "# my header\n# second line\ndomains:\n  example.org:\n"
                            "    users:\n      admin: {password: \"$6$s$h\"}  # a comment\n";
    ::chmod(path_.c_str(), 0640);
  }
  test_support::TempDir tmp_{"accounts_file_test"};
  std::string path_;
};

TEST_F(AccountsFileTest, ReplacedAtomicallyKeepingModeOwnerAndHeader) {
  Result<AccountsFile> file = read_accounts_file(path_);
  ASSERT_TRUE(file.ok()) << file.error().describe();
  EXPECT_TRUE(file->exists);
  EXPECT_EQ(file->mode, 0640u);
  AccountsData data = file->data;
  data.passwords["carol@example.org"] = "$y$new";
  struct stat before {};
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  ASSERT_TRUE(write_accounts_file(*file, data).ok());
  struct stat after {};
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // a new file renamed into place
  EXPECT_EQ(after.st_mode & 07777, 0640u);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_EQ(after.st_gid, before.st_gid);
  const std::string text = slurp(path_);
  EXPECT_EQ(text.rfind("# my header\n# second line\n", 0), 0u) << text;
  EXPECT_EQ(text.find("# a comment"), std::string::npos) << text;  // documented: not kept
  Result<AccountsData> reread = load_accounts_yaml(path_);
  ASSERT_TRUE(reread.ok());
  EXPECT_TRUE(*reread == data);
  EXPECT_EQ(files_in(tmp_.path()), 1u);  // no temporary file left
}

TEST_F(AccountsFileTest, WhatWouldNotReadBackIsNeverInstalled) {
  Result<AccountsFile> file = read_accounts_file(path_);
  ASSERT_TRUE(file.ok());
  const std::string old_text = slurp(path_);
  AccountsData data = file->data;
  data.passwords["x@not-a-domain-of-ours.org"] = "$y$x";  // reads back with that domain added
  Status written = write_accounts_file(*file, data);
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("nothing changed"), std::string::npos);
  EXPECT_EQ(slurp(path_), old_text);
  EXPECT_EQ(files_in(tmp_.path()), 1u);
}

TEST_F(AccountsFileTest, BrokenFileIsReportedWithItsLine) {
  std::ofstream(path_) << "domains:\n  example.org:\n    users: 3\n";
  Result<AccountsFile> file = read_accounts_file(path_);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().kind, ErrorKind::kConfig);
  EXPECT_NE(file.error().message.find(path_ + ":3:"), std::string::npos) << file.error().message;
}

TEST_F(AccountsFileTest, SymbolicLinkIsFollowed) {
  const std::string link = tmp_.path() + "/link.yaml";
  ASSERT_EQ(::symlink(path_.c_str(), link.c_str()), 0);
  Result<AccountsFile> file = read_accounts_file(link);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->path, fs::canonical(path_).string());
  AccountsData data = file->data;
  data.domains.insert("new.example");
  ASSERT_TRUE(write_accounts_file(*file, data).ok());
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_NE(slurp(path_).find("new.example"), std::string::npos);
}

TEST_F(AccountsFileTest, MissingFileIsCreated0600) {
  const std::string fresh = tmp_.path() + "/fresh.yaml";
  Result<AccountsFile> file = read_accounts_file(fresh);
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->exists);
  EXPECT_TRUE(file->data.domains.empty());
  AccountsData data;
  data.domains.insert("example.org");
  ASSERT_TRUE(write_accounts_file(*file, data).ok());
  struct stat st {};
  ASSERT_EQ(::stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(slurp(fresh).find(kRewrittenMarker), std::string::npos);
}

TEST_F(AccountsFileTest, NotARegularFile) {
  Result<AccountsFile> file = read_accounts_file(tmp_.path());
  EXPECT_FALSE(file.ok());
}

TEST_F(AccountsFileTest, LockIsExclusive) {
  Result<AccountsFileLock> held = AccountsFileLock::acquire(path_);
  ASSERT_TRUE(held.ok()) << held.error().describe();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child's own open of the folder must not get the lock while the parent holds it.
    int fd = ::open(tmp_.path().c_str(), O_RDONLY | O_DIRECTORY);
    ::_exit(fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace postern::cli
