// Unit tests for lib/mailbox/maildir.cpp: mailbox path checks (no way out of the mail base), folder
// creation, the tmp/ -> new/ protocol with the ",S=" size, cleanup of an uncommitted message,
// and CRLF -> LF conversion fed whole, byte by byte and split at every position.
#include "lib/mailbox/maildir.hpp"

#include <dirent.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace postern {
namespace {

// One fresh directory per test, named after this file.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("maildir_test") {}
};

std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string convert_whole(std::string_view text) {
  CrlfToLf conv;
  std::string out;
  conv.feed(text, out);
  conv.finish(out);
  return out;
}

TEST(MaildirPathTest, BuildsDomainThenUser) {
  auto path = maildir_path("/var/mail/vhosts/", "demo@Example.TEST");
  ASSERT_TRUE(path.ok()) << path.error().describe();
  EXPECT_EQ(*path, "/var/mail/vhosts/example.test/demo");
}

TEST(MaildirPathTest, RefusesPathTricks) {
  for (const char* bad : {"../etc@example.test", "a/b@example.test", "demo@../x", "demo@a/b",
                          ".hidden@example.test", "..@example.test", "a..b@example.test",
                          "@example.test", "demo@", "nodomain", "demo@.example.test"}) {
    EXPECT_FALSE(maildir_path("/m", bad).ok()) << bad;
  }
  EXPECT_FALSE(maildir_path("/m", std::string("a\0b@example.test", 16)).ok());
  EXPECT_FALSE(maildir_path("/m", "a\nb@example.test").ok());
}

TEST(MaildirPathTest, NameLengthLimit) {
  std::string at_limit(kMaxMailboxNameBytes, 'u');
  EXPECT_TRUE(maildir_path("/m", at_limit + "@example.test").ok());
  EXPECT_FALSE(maildir_path("/m", at_limit + "u@example.test").ok());
}

TEST(CrlfToLfTest, ConvertsWholeInput) {
  EXPECT_EQ(convert_whole("a\r\nb\r\n"), "a\nb\n");
  EXPECT_EQ(convert_whole("lone\rcr\r\n"), "lone\rcr\n");
  EXPECT_EQ(convert_whole("ends with cr\r"), "ends with cr\r");
  EXPECT_EQ(convert_whole("\r\r\n"), "\r\n");
  EXPECT_EQ(convert_whole(""), "");
}

TEST(CrlfToLfTest, SameResultForEverySplitAndByteByByte) {
  const std::string input = "Subject: x\r\n\r\nline\r\n\rodd\r\r\nlast\r";
  const std::string expected = convert_whole(input);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    CrlfToLf conv;
    std::string out;
    conv.feed(std::string_view(input).substr(0, cut), out);
    conv.feed(std::string_view(input).substr(cut), out);
    conv.finish(out);
    EXPECT_EQ(out, expected) << "split at " << cut;
  }
  CrlfToLf conv;
  std::string out;
  for (char c : input) conv.feed(std::string_view(&c, 1), out);
  conv.feed("", out);
  conv.finish(out);
  EXPECT_EQ(out, expected);
}

TEST(MaildirUniqueNameTest, HasTheMaildirShape) {
  EXPECT_EQ(maildir_unique_name(1700000000, 42, 1234, 7, "mx.example.test"),
            "1700000000.M42P1234Q7.mx.example.test");
  EXPECT_EQ(maildir_unique_name(1, 2, 3, 4, "a/b:c"), "1.M2P3Q4.a\\057b\\072c");
}

TEST(MaildirMessageTest, CreatesTheMaildirAndCommitsIntoNew) {
  TempDir base;
  auto maildir = maildir_path(base.path(), "demo@example.test");
  ASSERT_TRUE(maildir.ok());
  auto message = MaildirMessage::create(base.path(), *maildir, "mx.example.test");
  ASSERT_TRUE(message.ok()) << message.error().describe();
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    struct stat st {};
    ASSERT_EQ(::stat((*maildir + sub).c_str(), &st), 0) << sub;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u) << sub;
  }
  EXPECT_EQ(list(*maildir + "/tmp").size(), 1u);
  ASSERT_TRUE(message->write("Return-Path: <a@b>\n").ok());
  std::string big(3 * kMaildirWriteBufferBytes + 17, 'x');  // forces direct writes
  ASSERT_TRUE(message->write(big).ok());
  auto final_path = message->commit();
  ASSERT_TRUE(final_path.ok()) << final_path.error().describe();
  const size_t size = 19 + big.size();
  EXPECT_NE(final_path->find(",S=" + std::to_string(size)), std::string::npos);
  EXPECT_EQ(slurp(*final_path), "Return-Path: <a@b>\n" + big);
  EXPECT_TRUE(list(*maildir + "/tmp").empty());
  EXPECT_EQ(list(*maildir + "/new").size(), 1u);
}

TEST(MaildirMessageTest, AMaildirWithTmpOnlyGetsItsOtherFolders) {
  // A delivery killed between the mkdirs of create_maildir (seen in test_qmgr_delivery_kill)
  // left tmp/ alone; every later rename into new/ failed and the mailbox was deferred forever.
  TempDir base;
  auto maildir = maildir_path(base.path(), "alice@example.test");
  ASSERT_TRUE(maildir.ok());
  ASSERT_EQ(::mkdir((base.path() + "/example.test").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(maildir->c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((*maildir + "/tmp").c_str(), 0700), 0);
  auto message = MaildirMessage::create(base.path(), *maildir, "mx.example.test");
  ASSERT_TRUE(message.ok()) << message.error().describe();
  ASSERT_TRUE(message->write("Subject: x\n\nbody\n").ok());
  auto final_path = message->commit();
  ASSERT_TRUE(final_path.ok()) << final_path.error().describe();
  EXPECT_EQ(list(*maildir + "/new").size(), 1u);
  struct stat st {};
  EXPECT_EQ(::stat((*maildir + "/cur").c_str(), &st), 0);
}

TEST(MaildirMessageTest, UncommittedMessageLeavesNothing) {
  TempDir base;
  std::string maildir = base.path() + "/example.test/bob";
  {
    auto message = MaildirMessage::create(base.path(), maildir, "h");
    ASSERT_TRUE(message.ok());
    ASSERT_TRUE(message->write("partial").ok());
  }
  EXPECT_TRUE(list(maildir + "/tmp").empty());
  EXPECT_TRUE(list(maildir + "/new").empty());
}

TEST(MaildirMessageTest, NamesAreUniqueAcrossManyMessages) {
  TempDir base;
  std::string maildir = base.path() + "/example.test/alice";
  for (int i = 0; i < 50; ++i) {
    auto message = MaildirMessage::create(base.path(), maildir, "h");
    ASSERT_TRUE(message.ok());
    ASSERT_TRUE(message->write("m\n").ok());
    ASSERT_TRUE(message->commit().ok());
  }
  EXPECT_EQ(list(maildir + "/new").size(), 50u);
}

TEST(MaildirMessageTest, MissingBaseIsAnError) {
  TempDir base;
  std::string missing = base.path() + "/absent";
  auto message = MaildirMessage::create(missing, missing + "/example.test/demo", "h");
  EXPECT_FALSE(message.ok());
}

}  // namespace
}  // namespace postern
