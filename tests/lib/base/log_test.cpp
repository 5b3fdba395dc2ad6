// Tests lib/base/log: the stderr line in the syslog file shape (time, host, tag[pid]: level:
// text) that pflogsumm, fail2ban and logwatch read; the host field (first label of myhostname,
// gethostname() before it is set, bad names ignored); the cut at kMaxLineBytes; and one real
// write() to stderr, read back from a file standing in for it.
#include "lib/base/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

// pflogsumm 1.1.5's "traditional timestamp" pattern, then its tag pattern for --syslog-name.
const std::regex kPflogsummLine(R"(^(...) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) \S+ (.+)$)");
const std::regex kPflogsummTag(
    R"(^(?:postfix|postern)(?:/(?:smtps|submission))?/([^\[:]*).*?: ([^:\s]+))");

std::tm when(int month, int day, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return tm;
}

TEST(LogFormatTest, SyslogFileShapeWithSpacePaddedDay) {
  EXPECT_EQ(log::format_line(when(11, 7, 5, 24, 4), "mx", "postern/smtpd", 123, log::Level::kInfo,
                             "NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 no"),
            "Dec  7 05:24:04 mx postern/smtpd[123]: NOQUEUE: reject: RCPT from "
            "unknown[192.0.2.1]: 554 5.7.1 no\n");
  EXPECT_EQ(
      log::format_line(when(0, 17, 23, 0, 59), "host", "postern/qmgr", 9, log::Level::kInfo, "x"),
      "Jan 17 23:00:59 host postern/qmgr[9]: x\n");
}

TEST(LogFormatTest, LevelWordsAfterTheTag) {
  std::tm tm = when(5, 1, 0, 0, 0);
  EXPECT_EQ(log::format_line(tm, "h", "p", 1, log::Level::kWarning, "w"),
            "Jun  1 00:00:00 h p[1]: warning: w\n");
  EXPECT_EQ(log::format_line(tm, "h", "p", 1, log::Level::kError, "e"),
            "Jun  1 00:00:00 h p[1]: error: e\n");
  EXPECT_EQ(log::format_line(tm, "h", "p", 1, log::Level::kFatal, "f"),
            "Jun  1 00:00:00 h p[1]: fatal: f\n");
  EXPECT_EQ(log::format_line(tm, "h", "p", 1, log::Level::kDebug, "d"),
            "Jun  1 00:00:00 h p[1]: debug: d\n");
}

TEST(LogFormatTest, PflogsummReadsTheLine) {
  std::string line =
      log::format_line(when(11, 7, 5, 24, 4), "mx", "postern/qmgr", 4242, log::Level::kInfo,
                       "4TQ7: from=<a@example.org>, size=512, nrcpt=1 (queue active)");
  line.pop_back();  // the newline
  std::smatch parts;
  ASSERT_TRUE(std::regex_match(line, parts, kPflogsummLine)) << line;
  EXPECT_EQ(parts[1].str(), "Dec");
  EXPECT_EQ(parts[2].str(), "7");
  std::string rest = parts[6].str();
  std::smatch tag;
  ASSERT_TRUE(std::regex_search(rest, tag, kPflogsummTag)) << rest;
  EXPECT_EQ(tag[1].str(), "qmgr");
  EXPECT_EQ(tag[2].str(), "4TQ7");
}

TEST(LogFormatTest, LongLineCutToPipeBufWithMark) {
  std::string text(3 * log::kMaxLineBytes, 'x');
  std::string line =
      log::format_line(when(1, 2, 3, 4, 5), "h", "postern/smtpd", 1, log::Level::kInfo, text);
  EXPECT_EQ(line.size(), log::kMaxLineBytes);
  EXPECT_EQ(line.substr(line.size() - 4), "...\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);

  std::string fits(100, 'y');
  std::string whole = log::format_line(when(1, 2, 3, 4, 5), "h", "p", 1, log::Level::kInfo, fits);
  EXPECT_NE(whole.find(fits + "\n"), std::string::npos);
}

TEST(LogFormatTest, FirstLabel) {
  EXPECT_EQ(log::first_label("mx.example.org"), "mx");
  EXPECT_EQ(log::first_label("mx"), "mx");
  EXPECT_EQ(log::first_label("mx."), "mx");
  EXPECT_EQ(log::first_label(".example.org"), "");
  EXPECT_EQ(log::first_label(""), "");
}

// Runs body in a child whose stderr is a file; returns what it wrote there.
template <class Body>
std::string stderr_of_child(Body body) {
  test_support::TempDir tmp("log_test");
  std::string path = tmp.path() + "/stderr";
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0) ::_exit(3);
    body();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LogWriteTest, HostFieldIsGethostnameUntilMyhostnameIsSet) {
  char buffer[256] = {};
  ASSERT_EQ(::gethostname(buffer, sizeof buffer - 1), 0);
  std::string machine = log::first_label(buffer);
  if (machine.empty()) machine = "localhost";
  std::string text = stderr_of_child([] {
    log::init("postern/test", true);
    log::info("before the configuration");
    log::set_host_name("mx.example.test");
    log::warning("after it");
    log::set_host_name("");                  // ignored: the field stays "mx"
    log::set_host_name("bad name.example");  // ignored: a space would split the field
    log::info("still mx");
  });
  std::istringstream lines(text);
  std::string first, second, third;
  std::getline(lines, first);
  std::getline(lines, second);
  std::getline(lines, third);
  std::string tag = " postern/test[";
  EXPECT_NE(first.find(" " + machine + tag), std::string::npos) << first;
  EXPECT_NE(first.find("]: before the configuration"), std::string::npos) << first;
  EXPECT_NE(second.find(" mx" + tag), std::string::npos) << second;
  EXPECT_NE(second.find("]: warning: after it"), std::string::npos) << second;
  EXPECT_NE(third.find(" mx" + tag), std::string::npos) << third;
  for (const std::string& line : {first, second, third}) {
    EXPECT_TRUE(std::regex_match(line, kPflogsummLine)) << line;
  }
}

TEST(LogWriteTest, OneLinePerCallWithOurPid) {
  std::string text = stderr_of_child([] {
    log::init("postern/smtpd", true);
    log::set_host_name("mx");
    for (int i = 0; i < 50; ++i) log::info("line {}", i);
    log::debug("not shown without debug");
  });
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  const std::regex shape(
      R"(^[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d mx postern/smtpd\[\d+\]: line (\d+)$)");
  while (std::getline(lines, line)) {
    std::smatch found;
    ASSERT_TRUE(std::regex_match(line, found, shape)) << line;
    EXPECT_EQ(found[1].str(), std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, 50);
}

}  // namespace
}  // namespace postern
