// Tests cli/log_commands: the parent PID read from /proc/PID/stat text (names with spaces and
// parentheses), children found in /proc (a zombie is not one), which processes have their
// stderr elsewhere than a file (the wait of `postern log reopen`), and the errors of the whole
// command without a maillog_file or without a running master.
#include "cli/log_commands.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

TEST(LogCommandsTest, ParentPidFromStat) {
  EXPECT_EQ(parent_pid_from_stat("4242 (postern-smtpd) S 4200 4200 4200 0 -1 4194560"), 4200);
  EXPECT_EQ(parent_pid_from_stat("7 (a) b) c) R 1 7 7 0"), 1);  // ')' inside the name
  EXPECT_EQ(parent_pid_from_stat("9 (with space) Z 33 0"), 33);
  EXPECT_EQ(parent_pid_from_stat("1 (init) S 0 1 1"), 0);
  EXPECT_EQ(parent_pid_from_stat("garbage"), -1);
  EXPECT_EQ(parent_pid_from_stat("1 (x) S"), -1);
  EXPECT_EQ(parent_pid_from_stat("1 (x) S abc 1"), -1);
}

// A child that puts path (or /dev/null) on its stderr and waits to be killed.
pid_t start_child(const std::string& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0) ::_exit(3);
    while (true) ::pause();
  }
  return pid;
}

void stop_child(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST(LogCommandsTest, ChildrenAndWhereTheirStderrGoes) {
  test_support::TempDir tmp("log_commands_test");
  std::string log = tmp.path() + "/mail.log";
  std::string old = tmp.path() + "/mail.log.1";
  pid_t on_log = start_child(log);
  pid_t on_null = start_child("/dev/null");
  // Wait until both have set up their stderr.
  for (int i = 0; i < 500 && stderr_elsewhere({on_log}, log).size() == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<pid_t> children = child_processes(::getpid());
  EXPECT_NE(std::find(children.begin(), children.end(), on_log), children.end());
  EXPECT_NE(std::find(children.begin(), children.end(), on_null), children.end());

  EXPECT_EQ(stderr_elsewhere({on_log, on_null}, log), std::vector<pid_t>{on_null});
  // Renamed: nobody writes to the (new, absent) file at the path any more.
  ASSERT_EQ(::rename(log.c_str(), old.c_str()), 0);
  EXPECT_EQ(stderr_elsewhere({on_log}, log), std::vector<pid_t>{on_log});
  EXPECT_TRUE(stderr_elsewhere({on_log}, old).empty());

  stop_child(on_null);
  EXPECT_TRUE(stderr_elsewhere({on_null}, log).empty()) << "a process gone is not waited for";
  children = child_processes(::getpid());
  EXPECT_EQ(std::find(children.begin(), children.end(), on_null), children.end());

  ::kill(on_log, SIGKILL);  // a zombie until reaped: not a child any more for us
  for (int i = 0; i < 500; ++i) {
    children = child_processes(::getpid());
    if (std::find(children.begin(), children.end(), on_log) == children.end()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(std::find(children.begin(), children.end(), on_log), children.end());
  int status = 0;
  ::waitpid(on_log, &status, 0);
}

TEST(LogCommandsTest, ReopenNeedsMaillogFileAndAMaster) {
  test_support::TempDir tmp("log_commands_test");
  std::vector<ConfigWarning> warnings;
  auto without = MainConfig::parse("queue_directory = " + tmp.path() + "\n", "main.cf", &warnings);
  ASSERT_TRUE(without.ok());
  auto no_file = reopen_log(*without, 100);
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.error().describe().find("maillog_file is not set"), std::string::npos);

  auto with = MainConfig::parse(
      "queue_directory = " + tmp.path() + "\nmaillog_file = " + tmp.path() + "/mail.log\n",
      "main.cf", &warnings);
  ASSERT_TRUE(with.ok());
  auto no_master = reopen_log(*with, 100);
  ASSERT_FALSE(no_master.ok());
  EXPECT_NE(no_master.error().describe().find("not running"), std::string::npos);
}

}  // namespace
}  // namespace postern
