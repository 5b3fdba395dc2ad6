// Tests for local/command_delivery.cpp: the command's input byte for byte (From_ line,
// Return-Path:, Delivered-To:, the message with LF line ends), its clean environment and
// working directory, exit 0 / 75 / other codes / a signal, its output in the bounce (bounded),
// and the time limit killing the whole process group. Run directly (as whoever runs the
// tests); the test that lets the command exit without reading runs inside run_as, as
// postern-local does, since SIGPIPE is the default there.
#include "local/command_delivery.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lib/queue/queue_dir.hpp"
#include "local/run_as.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_files.hpp"

namespace postern::local {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CommandDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = queue_file("Subject: x\r\n\r\nFrom here\r\nbody\r\n");
    context_.user = "alice";
    context_.home = home_.path();
    context_.shell = "/bin/sh";
    context_.recipient = "alice+tag@example.org";
    context_.local_part = "alice+tag";
    context_.domain = "example.org";
    context_.extension = "tag";
  }

  std::optional<QueueFile> queue_file(const std::string& message) {
    std::optional<QueueFile> file =
        test_support::committed_queue_file(queue_.path(), "bob@example.net", "alice@example.org", message);
    EXPECT_TRUE(file.has_value());
    return file;
  }

  DeliveryOutcome run(const std::string& command, int time_limit = 10) {
    MessageCopy copy{&*file_, "bob@example.net", "alice+tag@example.org", 1700000000};
    return run_delivery_command(copy, command, context_, time_limit);
  }

  test_support::TempDir queue_{"command_delivery_queue"};
  test_support::TempDir home_{"command_delivery_home"};
  std::optional<QueueFile> file_;
  CommandContext context_;
};

TEST_F(CommandDeliveryTest, CommandGetsFromLineHeadersAndMessage) {
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome = run("cat > out");  // relative: the home is the working directory
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  EXPECT_EQ(read_file(home_.path() + "/out"),
            "From bob@example.net Tue Nov 14 22:13:20 2023\n"
            "Return-Path: <bob@example.net>\nDelivered-To: alice+tag@example.org\n"
            "Subject: x\n\nFrom here\nbody\n");
}

TEST_F(CommandDeliveryTest, EnvironmentIsCleanAndComplete) {
  ASSERT_TRUE(file_);
  ::setenv("POSTERN_TEST_SECRET", "leak", 1);
  DeliveryOutcome outcome = run("cat > /dev/null; env | LC_ALL=C sort > env.txt");
  ::unsetenv("POSTERN_TEST_SECRET");
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  std::string env = read_file(home_.path() + "/env.txt");
  for (const std::string& line :
       {"HOME=" + home_.path(), std::string("USER=alice"), std::string("LOGNAME=alice"),
        std::string("SHELL=/bin/sh"), std::string("PATH=/usr/bin:/bin"),
        std::string("SENDER=bob@example.net"), std::string("RECIPIENT=alice+tag@example.org"),
        std::string("LOCAL=alice+tag"), std::string("DOMAIN=example.org"),
        std::string("EXTENSION=tag")}) {
    EXPECT_NE(env.find(line + "\n"), std::string::npos) << line << " in:\n" << env;
  }
  EXPECT_EQ(env.find("POSTERN_TEST_SECRET"), std::string::npos) << env;
}

TEST_F(CommandDeliveryTest, OnlyStandardDescriptorsAreOpen) {
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome = run("cat > /dev/null; ls /proc/$$/fd > fds.txt");
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  std::string fds = read_file(home_.path() + "/fds.txt");
  // 0, 1, 2 and the descriptor ls opens to list the folder (3) at most.
  EXPECT_EQ(fds.find("\n4\n"), std::string::npos) << fds;
}

TEST_F(CommandDeliveryTest, ExitSeventyFiveDefers) {
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome = run("cat > /dev/null; echo try later; exit 75");
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.dsn, "4.3.0");
  EXPECT_NE(outcome.reason.find("try later"), std::string::npos) << outcome.reason;
}

TEST_F(CommandDeliveryTest, OtherExitCodeBouncesWithItsOutput) {
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome = run("cat > /dev/null; echo no such folder >&2; exit 1");
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kBounced);
  EXPECT_EQ(outcome.dsn, "5.3.0");
  EXPECT_NE(outcome.reason.find("status 1"), std::string::npos) << outcome.reason;
  EXPECT_NE(outcome.reason.find("no such folder"), std::string::npos) << outcome.reason;
  // A flood of output is cut.
  DeliveryOutcome flood = run("cat > /dev/null; yes 'a line of output' | head -c 100000; exit 2");
  EXPECT_EQ(flood.kind, DeliveryOutcome::Kind::kBounced);
  EXPECT_LT(flood.reason.size(), kMaxCommandOutputBytes);
}

TEST_F(CommandDeliveryTest, SignalDefers) {
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome = run("cat > /dev/null; kill -9 $$");
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_NE(outcome.reason.find("signal 9"), std::string::npos) << outcome.reason;
}

TEST_F(CommandDeliveryTest, TimeLimitKillsTheGroupAndDefers) {
  ASSERT_TRUE(file_);
  const auto started = std::chrono::steady_clock::now();
  // The background sleep keeps the output pipe open: only killing the group ends it.
  DeliveryOutcome outcome = run("cat > /dev/null; sleep 30 & sleep 30", 1);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_NE(outcome.reason.find("timed out after 1s"), std::string::npos) << outcome.reason;
  EXPECT_LT(waited, std::chrono::seconds(20));  // bounded: far below the 30 s sleep
}

TEST_F(CommandDeliveryTest, TimeLimitHoldsAfterTheCommandClosesItsOutput) {
  ASSERT_TRUE(file_);
  const auto started = std::chrono::steady_clock::now();
  DeliveryOutcome outcome = run("cat > /dev/null; exec > /dev/null 2>&1; sleep 8", 1);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred) << outcome.reason;
  EXPECT_NE(outcome.reason.find("timed out after 1s"), std::string::npos) << outcome.reason;
  EXPECT_LT(waited, std::chrono::seconds(6));  // bounded: killed, not waited for
}

TEST_F(CommandDeliveryTest, CommandThatDoesNotReadItsInputStillCounts) {
  // A message larger than a pipe holds, and a command that exits 0 without reading it (a
  // vacation-style filter, "exit 0"): its exit status decides, not our write. Run inside
  // run_as, as postern-local runs it (SIGPIPE is the default there).
  std::string big;
  while (big.size() < (1 << 20)) big += "a line of a large message to fill the pipe\r\n";
  file_ = queue_file("Subject: big\r\n\r\n" + big);
  ASSERT_TRUE(file_);
  DeliveryOutcome outcome =
      run_as(::geteuid(), ::getegid(), 30, {file_->fd()}, [&] { return run("exit 0"); });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent) << outcome.reason;
  DeliveryOutcome failed = run_as(::geteuid(), ::getegid(), 30, {file_->fd()},
                                  [&] { return run("echo refused; exit 67"); });
  EXPECT_EQ(failed.kind, DeliveryOutcome::Kind::kBounced) << failed.reason;
  EXPECT_NE(failed.reason.find("refused"), std::string::npos) << failed.reason;
}

}  // namespace
}  // namespace postern::local
