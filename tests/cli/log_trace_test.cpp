// Tests cli/log_trace: syslog line shapes (traditional and RFC 3339), which lines are a
// message's, the bounce and forward IDs it follows, and the reader's limits on hostile files:
// a line of N = kMaxLogLineBytes bytes kept whole and one of N+1 cut, files fed in pieces, no
// final newline, binary bytes.
#include "cli/log_trace.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kHeader = "Dec  7 05:24:04 mx postern/qmgr[4242]: ";

TEST(LogTrace, ParsesBothSyslogShapes) {
  auto classic = parse_log_line("Dec  7 05:24:04 mx postern/smtpd[123]: ABC: client=x[1.2.3.4]");
  ASSERT_TRUE(classic);
  EXPECT_EQ(classic->time, "Dec  7 05:24:04");
  EXPECT_EQ(classic->host, "mx");
  EXPECT_EQ(classic->program, "postern/smtpd");
  EXPECT_EQ(classic->pid, 123);
  EXPECT_EQ(classic->text, "ABC: client=x[1.2.3.4]");
  auto iso = parse_log_line("2026-12-07T05:24:04.123456+00:00 mx postern/qmgr[9]: ABC: removed");
  ASSERT_TRUE(iso);
  EXPECT_EQ(iso->time, "2026-12-07T05:24:04.123456+00:00");
  EXPECT_EQ(iso->pid, 9);
  auto no_pid = parse_log_line("Dec 17 05:24:04 mx kernel: something");
  ASSERT_TRUE(no_pid);
  EXPECT_EQ(no_pid->pid, -1);
  EXPECT_EQ(no_pid->program, "kernel");
  for (std::string_view bad : {"", "garbage", "Dec  7 05:24:04", "Dec  7 05:24:04 mx",
                               "Dec  7 05:24:04 mx prog[12x]: t", "Dec  7 05:24:04 mx prog[]: t",
                               "Dec  7 05:24:04 mx prog[99999999999]: t",
                               "2026-12-07T05:24:04 mx"}) {
    EXPECT_FALSE(parse_log_line(bad)) << bad;
  }
}

TEST(LogTrace, QueueIdOfALine) {
  EXPECT_EQ(text_queue_id("ABC123: removed"), "ABC123");
  EXPECT_EQ(text_queue_id("warning: ABC123: cannot write defer/ABC123"), "ABC123");
  EXPECT_EQ(text_queue_id("NOQUEUE: reject: RCPT from x: 554 no"), "");
  EXPECT_EQ(text_queue_id("connect from unknown[127.0.0.1]"), "");
  EXPECT_EQ(text_queue_id("ABC123:x"), "");
  EXPECT_EQ(text_queue_id("ABC123"), "");
  EXPECT_EQ(text_queue_id(std::string(kMaxQueueIdBytes, 'A') + ": x"),
            std::string(kMaxQueueIdBytes, 'A'));
  EXPECT_EQ(text_queue_id(std::string(kMaxQueueIdBytes + 1, 'A') + ": x"), "");
}

TEST(LogTrace, CausedIds) {
  EXPECT_EQ(caused_queue_id("sender non-delivery notification: NEW1"), "NEW1");
  EXPECT_EQ(caused_queue_id("postmaster non-delivery notification: NEW2"), "NEW2");
  EXPECT_EQ(caused_queue_id("sender delay notification: NEW3"), "NEW3");
  EXPECT_EQ(caused_queue_id("to=<a@b>, relay=local, status=sent (forwarded as NEW4)"), "NEW4");
  EXPECT_EQ(caused_queue_id("to=<a@b>, status=sent (delivered to maildir)"), "");
  EXPECT_EQ(caused_queue_id("sender non-delivery notification: "), "");
}

TEST(LogTrace, FollowsTheBounceButNotStrangers) {
  MessageTrace trace("AAA");
  trace.feed(std::string(kHeader) + "BBB: removed", "f");  // another message
  trace.feed(std::string(kHeader) + "AAA: from=<a@b>", "f");
  trace.feed(std::string(kHeader) + "AAA: sender non-delivery notification: CCC", "f");
  trace.feed(std::string(kHeader) + "CCC: removed", "f");
  trace.feed(std::string(kHeader) + "NOQUEUE: reject: AAA: no", "f");
  trace.feed("AAA: not a syslog line", "f");
  ASSERT_EQ(trace.lines().size(), 3u);
  EXPECT_EQ(trace.lines()[2].queue_id, "CCC");
  EXPECT_EQ(trace.queue_ids(), (std::vector<std::string>{"AAA", "CCC"}));
  EXPECT_FALSE(trace.truncated());
}

TEST(LogTrace, BoundedLinesAndIds) {
  MessageTrace trace("AAA");
  for (size_t i = 0; i < kMaxTraceLines + 5; ++i) {
    trace.feed(std::string(kHeader) + "AAA: sender delay notification: N" + std::to_string(i), "f");
  }
  EXPECT_EQ(trace.lines().size(), kMaxTraceLines);
  EXPECT_EQ(trace.queue_ids().size(), kMaxTracedQueueIds);
  EXPECT_TRUE(trace.truncated());
}

TEST(LogTrace, FileLinesAreCutAtTheLimit) {
  test_support::TempDir dir("log_trace_test");
  const std::string path = dir.path() + "/mail.log";
  const std::string head = std::string(kHeader) + "AAA: ";
  const std::string exact = head + std::string(kMaxLogLineBytes - head.size(), 'x');
  const std::string over = head + std::string(kMaxLogLineBytes - head.size() + 1, 'y');
  {
    std::ofstream out(path, std::ios::binary);
    out << exact << "\n" << over << "\n";
    out << std::string("\0\xff\x1b", 3) << "\n";
    out << std::string(kHeader) << "AAA: esc \x1b[2J\xc3\xa9";  // no final newline
  }
  MessageTrace trace("AAA");
  ASSERT_TRUE(trace.feed_file(path));
  ASSERT_EQ(trace.lines().size(), 3u);
  EXPECT_EQ(trace.lines()[0].raw, exact);
  EXPECT_EQ(trace.lines()[1].raw.size(), kMaxLogLineBytes);
  EXPECT_EQ(trace.lines()[1].raw, over.substr(0, kMaxLogLineBytes));
  EXPECT_EQ(trace.lines()[2].line.text, "AAA: esc ?[2J??");
  EXPECT_FALSE(MessageTrace("AAA").feed_file(dir.path() + "/missing"));
  // Neither a directory nor a FIFO (whose open would wait for a writer) is read.
  EXPECT_FALSE(MessageTrace("AAA").feed_file(dir.path()));
  ASSERT_EQ(::mkfifo((dir.path() + "/fifo").c_str(), 0600), 0);
  EXPECT_FALSE(MessageTrace("AAA").feed_file(dir.path() + "/fifo"));
}

TEST(LogTrace, SearchableIds) {
  EXPECT_TRUE(is_searchable_queue_id("HOV3OZX4IO05OAV5"));
  EXPECT_TRUE(is_searchable_queue_id("3F2A1C0B4D"));  // Postfix's hexadecimal IDs
  EXPECT_FALSE(is_searchable_queue_id(""));
  EXPECT_FALSE(is_searchable_queue_id("NOQUEUE"));
  EXPECT_FALSE(is_searchable_queue_id("../x"));
  EXPECT_FALSE(is_searchable_queue_id(std::string(kMaxQueueIdBytes + 1, 'A')));
}

}  // namespace
}  // namespace postern::cli
