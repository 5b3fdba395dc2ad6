// Tests master/maillog: maillog_file against maillog_file_prefixes (whole path components, no
// "." or ".." tricks, empty = syslog), and the opening: created 0600, appended to (O_APPEND, so
// two descriptors never overwrite each other), refused when it is a symbolic link, a folder or a
// FIFO (which must not hang master), /dev/stdout a duplicate of standard output.
#include "master/maillog.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern::master {
namespace {

MainConfig config_with(const std::string& text) {
  std::vector<ConfigWarning> warnings;
  auto parsed = MainConfig::parse(text, "main.cf", &warnings);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().describe());
  return std::move(parsed).value();
}

bool allowed(const std::string& file, const std::string& prefixes = "") {
  std::string text = "maillog_file = " + file + "\n";
  if (!prefixes.empty()) text += "maillog_file_prefixes = " + prefixes + "\n";
  return check_maillog_file(config_with(text)).ok();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(MaillogFileTest, EmptyMeansSyslogAndIsFine) {
  EXPECT_TRUE(check_maillog_file(config_with("")).ok());
  EXPECT_TRUE(allowed(""));
}

TEST(MaillogFileTest, DefaultPrefixesAreVarAndStdout) {
  EXPECT_TRUE(allowed("/var/log/postern.log"));
  EXPECT_TRUE(allowed("/var/log/mail/postern.log"));
  EXPECT_TRUE(allowed("/dev/stdout"));
  EXPECT_FALSE(allowed("/etc/passwd"));
  EXPECT_FALSE(allowed("/variable/postern.log"));  // a prefix is whole components
  EXPECT_FALSE(allowed("/dev/stdout2"));
  EXPECT_FALSE(allowed("/tmp/postern.log"));
}

TEST(MaillogFileTest, PathTricksAreRefused) {
  EXPECT_FALSE(allowed("/var/../etc/shadow"));
  EXPECT_FALSE(allowed("/var/log/./postern.log"));
  EXPECT_FALSE(allowed("/var/log//postern.log"));
  EXPECT_FALSE(allowed("/var/log/"));
  EXPECT_FALSE(allowed("var/log/postern.log"));
  EXPECT_FALSE(allowed("/"));
}

TEST(MaillogFileTest, AdminPrefixes) {
  EXPECT_TRUE(allowed("/srv/logs/mail.log", "/srv/logs"));
  EXPECT_TRUE(allowed("/srv/logs/mail.log", "/var, /srv/logs/"));
  EXPECT_FALSE(allowed("/var/log/mail.log", "/srv/logs"));
  EXPECT_TRUE(allowed("/anything/at/all.log", "/"));
  auto error = check_maillog_file(config_with("maillog_file = /etc/x.log\n"));
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().describe().find("maillog_file_prefixes"), std::string::npos);
}

TEST(MaillogFileTest, CreatedPrivateAndAppended) {
  test_support::TempDir tmp("maillog_test");
  std::string path = tmp.path() + "/mail.log";
  auto first = open_maillog_file(path);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, kMaillogCreateMode);
  EXPECT_NE(::fcntl(first->get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(first->get(), F_GETFL) & O_APPEND, 0);
  EXPECT_EQ(::fcntl(first->get(), F_GETFL) & O_NONBLOCK, 0);

  auto second = open_maillog_file(path);  // a reopen while the first is still open
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(::write(first->get(), "one\n", 4), 4);
  ASSERT_EQ(::write(second->get(), "two\n", 4), 4);
  ASSERT_EQ(::write(first->get(), "three\n", 6), 6);
  EXPECT_EQ(read_all(path), "one\ntwo\nthree\n");

  ::chmod(path.c_str(), 0640);  // the admin's (or logrotate's) mode stays
  auto third = open_maillog_file(path);
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(MaillogFileTest, SymlinkFolderAndFifoRefused) {
  test_support::TempDir tmp("maillog_test");
  std::string target = tmp.path() + "/target";
  std::string link = tmp.path() + "/link.log";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto via_link = open_maillog_file(link);
  ASSERT_FALSE(via_link.ok());
  EXPECT_NE(via_link.error().describe().find("symbolic link"), std::string::npos);
  EXPECT_NE(::access(target.c_str(), F_OK), 0) << "the link's target was created";

  auto folder = open_maillog_file(tmp.path());
  EXPECT_FALSE(folder.ok());

  std::string fifo = tmp.path() + "/fifo.log";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto pipe_file = open_maillog_file(fifo);  // no reader: must fail, not block
  EXPECT_FALSE(pipe_file.ok());

  EXPECT_FALSE(open_maillog_file(tmp.path() + "/no/such/folder/mail.log").ok());
}

TEST(MaillogFileTest, StdoutIsADuplicate) {
  auto out = open_maillog_file(kMaillogStdout);
  ASSERT_TRUE(out.ok()) << out.error().describe();
  struct stat ours {};
  struct stat stdout_stat {};
  ASSERT_EQ(::fstat(out->get(), &ours), 0);
  ASSERT_EQ(::fstat(STDOUT_FILENO, &stdout_stat), 0);
  EXPECT_EQ(ours.st_ino, stdout_stat.st_ino);
  EXPECT_EQ(ours.st_dev, stdout_stat.st_dev);
  EXPECT_GT(out->get(), 2);
}

}  // namespace
}  // namespace postern::master
