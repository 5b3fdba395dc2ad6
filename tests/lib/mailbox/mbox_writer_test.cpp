// Unit tests for lib/mailbox/mbox_writer.cpp: the From_ line and sender clean-up, ">From "
// escaping checked byte for byte (whole, byte by byte and split at every position), a 1 MB
// message, two messages in a row, rollback (explicit, by the destructor, past the size limit),
// the new file's mode under umask 077, and the refusal of symlinks, hard links, non-regular
// files and files of another owner.
#include "lib/mailbox/mbox_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

constexpr time_t kArrival = 1796639468;  // Mon Dec  7 10:31:08 2026 UTC
constexpr uid_t kAnyOwner = static_cast<uid_t>(-1);

class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("mbox_writer_test") {}
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Appends one message, fed in the given chunks; returns the first error.
Status append(const std::string& path, std::string_view sender,
              const std::vector<std::string_view>& chunks) {
  auto fd = open_mbox_for_append(path, kAnyOwner);
  if (!fd) return fd.error();
  MboxAppender appender(fd->get(), path);
  if (Status s = appender.begin(sender, kArrival); !s) return s;
  for (std::string_view chunk : chunks) {
    if (Status s = appender.feed(chunk); !s) return s;
  }
  return appender.finish();
}

std::string appended(const TempDir& dir, const std::vector<std::string_view>& chunks) {
  const std::string path = dir.path() + "/mbox";
  ::unlink(path.c_str());
  Status s = append(path, "a@example.test", chunks);
  EXPECT_TRUE(s.ok()) << s.error().describe();
  return slurp(path);
}

const std::string kFromLine = "From a@example.test Mon Dec  7 10:31:08 2026\n";

TEST(MboxFromLineTest, HasTheAsctimeShapeInUtc) {
  EXPECT_EQ(mbox_from_line("a@example.test", kArrival), kFromLine);
  EXPECT_EQ(mbox_from_line("b@x", 1800144005), "From b@x Sun Jan 17 00:00:05 2027\n");
  EXPECT_EQ(mbox_from_line("", 0), "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
}

TEST(MboxFromLineTest, SenderHasNoSpacesOrControlBytes) {
  EXPECT_EQ(mbox_from_sender(""), "MAILER-DAEMON");
  EXPECT_EQ(mbox_from_sender("\"john doe\"@x"), "\"john_doe\"@x");
  EXPECT_EQ(mbox_from_sender(std::string("a\tb\nc\0d\x7f@x", 10)), "a_b_c_d_@x");
  EXPECT_EQ(mbox_from_sender("j\xc3\xbcrgen@x"), "j\xc3\xbcrgen@x");  // 8-bit kept
  EXPECT_EQ(mbox_from_sender(std::string(kMboxMaxSenderBytes, 's')).size(), kMboxMaxSenderBytes);
  EXPECT_EQ(mbox_from_sender(std::string(kMboxMaxSenderBytes + 1, 's')).size(),
            kMboxMaxSenderBytes);
}

TEST(MboxAppenderTest, EscapesOnlyFromSpaceAtALineStart) {
  TempDir dir;
  const std::string message =
      "Subject: escapes\r\n\r\nFrom me to you\r\nFrom\r\nFromage\r\n>From quoted\r\n"
      " From indented\r\nsaid From here\r\n.\r\nGr\xc3\xbc\xc3\x9f"
      "e \xe2\x82\xac\r\nFrom ";
  EXPECT_EQ(appended(dir, {message}),
            kFromLine +
                "Subject: escapes\n\n>From me to you\nFrom\nFromage\n>From quoted\n"
                " From indented\nsaid From here\n.\nGr\xc3\xbc\xc3\x9f"
                "e \xe2\x82\xac\n"
                ">From \n\n");
}

TEST(MboxAppenderTest, SameBytesWholeByteByByteAndAtEverySplit) {
  TempDir dir;
  const std::string message =
      "From: x\r\n\r\nFrom a\r\nFro\r\nFrom\r\n\r\nFrom b\rc\r\n>From d\r\nend\r\nFrom";
  const std::string whole = appended(dir, {message});
  EXPECT_EQ(whole,
            kFromLine + "From: x\n\n>From a\nFro\nFrom\n\n>From b\rc\n>From d\nend\nFrom\n\n");
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < message.size(); ++i)
    bytes.push_back(std::string_view(message).substr(i, 1));
  EXPECT_EQ(appended(dir, bytes), whole);
  for (size_t cut = 0; cut <= message.size(); ++cut) {
    std::string_view view(message);
    EXPECT_EQ(appended(dir, {view.substr(0, cut), "", view.substr(cut)}), whole) << cut;
  }
}

// The expected mbox form of a wire message whose lines all end in CRLF: the reference the
// streaming code is checked against.
std::string expected_body(const std::string& wire) {
  std::string out;
  size_t start = 0;
  while (start < wire.size()) {
    size_t end = wire.find("\r\n", start);
    std::string line = wire.substr(start, end - start);
    if (line.rfind("From ", 0) == 0) out += '>';
    out += line + "\n";
    start = end + 2;
  }
  return out;
}

TEST(MboxAppenderTest, OneMegabyteMessageSurvivesByteForByte) {
  TempDir dir;
  std::string wire = "Subject: big\r\n\r\n";
  uint32_t seed = 12345;
  while (wire.size() < 1024 * 1024) {
    seed = seed * 1103515245u + 12345u;
    switch (seed % 5) {
      case 0:
        wire += "From someone else\r\n";
        break;
      case 1:
        wire += ">From quoted\r\n";
        break;
      case 2:
        wire += "\xc3\xa9t\xc3\xa9 \xf0\x9f\x93\xa8 8-bit\r\n";
        break;
      default:
        wire += std::string(1 + seed % 997, static_cast<char>('a' + seed % 26)) + "\r\n";
    }
  }
  std::vector<std::string_view> chunks;
  for (size_t at = 0; at < wire.size(); at += 8191) {
    chunks.push_back(std::string_view(wire).substr(at, 8191));
  }
  const std::string path = dir.path() + "/mbox";
  Status s = append(path, "a@example.test", chunks);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  std::string expected = kFromLine + expected_body(wire) + "\n";
  std::string actual = slurp(path);
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected);  // not EXPECT_EQ: a 1 MB diff helps nobody
}

TEST(MboxAppenderTest, TwoMessagesInARowAreSeparated) {
  TempDir dir;
  const std::string path = dir.path() + "/mbox";
  ASSERT_TRUE(append(path, "a@example.test", {"Subject: one\r\n\r\nno final line end"}).ok());
  ASSERT_TRUE(append(path, "", {"Subject: two\r\n\r\nbody\r\n"}).ok());
  EXPECT_EQ(slurp(path), kFromLine + "Subject: one\n\nno final line end\n\n" +
                             "From MAILER-DAEMON Mon Dec  7 10:31:08 2026\n" +
                             "Subject: two\n\nbody\n\n");
}

TEST(MboxAppenderTest, HeaderLinesComeAfterTheFromLine) {
  TempDir dir;
  const std::string path = dir.path() + "/mbox";
  auto fd = open_mbox_for_append(path, kAnyOwner);
  ASSERT_TRUE(fd.ok()) << fd.error().describe();
  MboxAppender appender(fd->get(), path);
  ASSERT_TRUE(appender.begin("a@example.test", kArrival).ok());
  ASSERT_TRUE(appender.write_header_line("Return-Path: <a@example.test>").ok());
  ASSERT_TRUE(appender.write_header_line("Delivered-To: u@example.test").ok());
  EXPECT_EQ(appender.write_header_line("X: a\r\nInjected: yes").error().kind, ErrorKind::kParse);
  ASSERT_TRUE(appender.feed("Subject: s\r\n\r\nb\r\n").ok());
  EXPECT_FALSE(appender.write_header_line("Late: header").ok());
  ASSERT_TRUE(appender.finish().ok());
  EXPECT_EQ(slurp(path), kFromLine +
                             "Return-Path: <a@example.test>\nDelivered-To: u@example.test\n"
                             "Subject: s\n\nb\n\n");
}

TEST(MboxAppenderTest, EmptyMessageIsAFromLineAndTheSeparator) {
  TempDir dir;
  EXPECT_EQ(appended(dir, {}), kFromLine + "\n");
}

TEST(MboxAppenderTest, RollbackLeavesTheFileExactlyAsBefore) {
  TempDir dir;
  const std::string path = dir.path() + "/mbox";
  ASSERT_TRUE(append(path, "a@example.test", {"Subject: kept\r\n\r\nold\r\n"}).ok());
  const std::string before = slurp(path);
  auto fd = open_mbox_for_append(path, kAnyOwner);
  ASSERT_TRUE(fd.ok());
  {
    MboxAppender appender(fd->get(), path);
    ASSERT_TRUE(appender.begin("b@example.test", kArrival).ok());
    ASSERT_TRUE(appender.feed(std::string(3 * kMboxWriteBufferBytes, 'x')).ok());
    struct stat st {};
    ASSERT_EQ(::fstat(fd->get(), &st), 0);
    ASSERT_GT(static_cast<size_t>(st.st_size), before.size());  // really written, not buffered
    ASSERT_TRUE(appender.rollback().ok());
    EXPECT_EQ(slurp(path), before);
    EXPECT_TRUE(appender.rollback().ok());  // twice is harmless
  }
  {
    MboxAppender appender(fd->get(), path);  // the destructor rolls back an unfinished message
    ASSERT_TRUE(appender.begin("b@example.test", kArrival).ok());
    ASSERT_TRUE(appender.feed(std::string(2 * kMboxWriteBufferBytes, 'y')).ok());
  }
  EXPECT_EQ(slurp(path), before);
  ASSERT_TRUE(append(path, "a@example.test", {"next\r\n"}).ok());  // the file goes on working
  EXPECT_EQ(slurp(path), before + kFromLine + "next\n\n");
}

TEST(MboxAppenderTest, SizeLimitAcceptsNAndRefusesNPlusOneThenRollsBack) {
  TempDir dir;
  const std::string path = dir.path() + "/mbox";
  spit(path, "existing\n\n");
  const std::string before = slurp(path);
  const std::string body(100000, 'z');
  const uint64_t exact = before.size() + kFromLine.size() + body.size() + 2;  // "\n\n" at the end
  for (uint64_t limit : {exact, exact - 1}) {
    auto fd = open_mbox_for_append(path, kAnyOwner);
    ASSERT_TRUE(fd.ok());
    MboxAppender appender(fd->get(), path, limit);
    ASSERT_TRUE(appender.begin("a@example.test", kArrival).ok());
    Status fed = appender.feed(body);
    Status finished = fed.ok() ? appender.finish() : fed;
    if (limit == exact) {
      ASSERT_TRUE(finished.ok()) << finished.error().describe();
      EXPECT_EQ(slurp(path).size(), exact);
      ASSERT_EQ(::ftruncate(fd->get(), static_cast<off_t>(before.size())), 0);
    } else {
      ASSERT_FALSE(finished.ok());
      EXPECT_EQ(finished.error().kind, ErrorKind::kLimit);
      EXPECT_FALSE(appender.feed("more").ok());  // a failed appender stays failed
      ASSERT_TRUE(appender.rollback().ok());
      EXPECT_EQ(slurp(path), before);
    }
  }
}

TEST(OpenMboxTest, NewFileIsMode0660EvenUnderUmask077) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  mode_t old_mask = ::umask(077);
  auto fd = open_mbox_for_append(path, ::geteuid());
  ::umask(old_mask);
  ASSERT_TRUE(fd.ok()) << fd.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(::fcntl(fd->get(), F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK), O_WRONLY | O_APPEND);
  // An existing file keeps the mode its owner gave it.
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(open_mbox_for_append(path, ::geteuid()).ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(OpenMboxTest, RefusesASymlinkAndLeavesItsTargetAlone) {
  TempDir dir;
  const std::string target = dir.path() + "/target";
  const std::string path = dir.path() + "/user";
  spit(target, "secret\n");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  auto fd = open_mbox_for_append(path, kAnyOwner);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().kind, ErrorKind::kPermanent);
  // A dangling symlink is not followed to create its target either.
  ASSERT_EQ(::unlink(target.c_str()), 0);
  auto dangling = open_mbox_for_append(path, kAnyOwner);
  ASSERT_FALSE(dangling.ok());
  EXPECT_EQ(dangling.error().kind, ErrorKind::kPermanent);
  EXPECT_NE(::access(target.c_str(), F_OK), 0);
}

TEST(OpenMboxTest, RefusesAHardLinkedFile) {
  TempDir dir;
  const std::string other = dir.path() + "/other";
  const std::string path = dir.path() + "/user";
  spit(other, "secret\n");
  ASSERT_EQ(::link(other.c_str(), path.c_str()), 0);
  auto fd = open_mbox_for_append(path, kAnyOwner);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().kind, ErrorKind::kPermanent);
  EXPECT_NE(fd.error().message.find("hard link"), std::string::npos);
  EXPECT_EQ(slurp(other), "secret\n");
}

TEST(OpenMboxTest, RefusesWhatIsNotARegularFile) {
  TempDir dir;
  const std::string folder = dir.path() + "/folder";
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {folder, fifo}) {  // a FIFO must not block the open
    auto fd = open_mbox_for_append(path, kAnyOwner);
    ASSERT_FALSE(fd.ok()) << path;
    EXPECT_TRUE(fd.error().kind == ErrorKind::kPermanent || fd.error().kind == ErrorKind::kSystem)
        << fd.error().describe();
  }
  auto missing_folder = open_mbox_for_append(dir.path() + "/absent/user", kAnyOwner);
  ASSERT_FALSE(missing_folder.ok());
  EXPECT_EQ(missing_folder.error().kind, ErrorKind::kSystem);
  EXPECT_EQ(missing_folder.error().sys_errno, ENOENT);
}

TEST(OpenMboxTest, RefusesAFileOfAnotherOwner) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to another uid";
  TempDir dir;
  const std::string path = dir.path() + "/user";
  spit(path, "");
  ASSERT_EQ(::chown(path.c_str(), 65534, static_cast<gid_t>(-1)), 0);
  auto fd = open_mbox_for_append(path, 0);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().kind, ErrorKind::kPermanent);
  EXPECT_NE(fd.error().message.find("owned by uid 65534"), std::string::npos);
  EXPECT_TRUE(open_mbox_for_append(path, 65534).ok());
  EXPECT_TRUE(open_mbox_for_append(path, kAnyOwner).ok());
}

}  // namespace
}  // namespace postern

namespace postern {
namespace {

// mbox_from_line computes UTC by arithmetic (gmtime_r takes a lock a forked child may never
// get); it must agree with gmtime_r everywhere: every day boundary of 1970-2100, leap days and
// century years included, and seconds within a day.
TEST(MboxFromLineTest, ArithmeticUtcAgreesWithGmtime) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (time_t t = 0; t < time_t{4102444800}; t += 86400 - 1) {
    struct tm utc {};
    ASSERT_NE(::gmtime_r(&t, &utc), nullptr);
    char expected[64];
    std::snprintf(expected, sizeof expected, "From a@b %s %s %2d %02d:%02d:%02d %d\n",
                  kDays[utc.tm_wday], kMonths[utc.tm_mon], utc.tm_mday, utc.tm_hour, utc.tm_min,
                  utc.tm_sec, utc.tm_year + 1900);
    ASSERT_EQ(mbox_from_line("a@b", t), expected) << t;
  }
}

}  // namespace
}  // namespace postern
