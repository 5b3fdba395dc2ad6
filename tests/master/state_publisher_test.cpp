// master/state_publisher and the state ProcessSupervisor reports: many changes in one loop round
// make one write; the file parses and names this process; a write that fails is logged once and
// never throws; the file goes when the publisher does. With real children: a service whose
// program exits 3 is reported throttled with "exit status 3" and until when; one that runs is up
// with its worker.
#include "master/state_publisher.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "lib/base/file_read.hpp"
#include "master/process_supervisor.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::master {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StatePublisher, ManyChangesOneWriteAndGoneAtTheEnd) {
  test_support::TempDir dir("state_publisher_test");
  const std::string path = dir.path() + "/master.state";
  EventBaseHandle base(event_base_new());
  int calls = 0;
  {
    StatePublisher publisher(base.get(), path, "/etc/postern", [&] {
      ++calls;
      ServiceState smtp;
      smtp.name = "smtp";
      smtp.command = "smtpd";
      return std::vector<ServiceState>{smtp};
    });
    for (int i = 0; i < 5; ++i) publisher.schedule();
    EXPECT_EQ(calls, 0);  // nothing written inside the caller's stack
    event_base_loop(base.get(), EVLOOP_NONBLOCK);
    EXPECT_EQ(calls, 1);
    auto state = parse_master_state(read_text(path));
    ASSERT_TRUE(state) << state.error().describe();
    EXPECT_EQ(state->pid, ::getpid());
    EXPECT_EQ(state->config_dir, "/etc/postern");
    ASSERT_EQ(state->services.size(), 1u);
    EXPECT_EQ(state->services[0].name, "smtp");
    publisher.schedule();
    event_base_loop(base.get(), EVLOOP_NONBLOCK);
    EXPECT_EQ(calls, 2);  // a later change is written again
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(StatePublisher, AFailingWriteIsLoggedOnceAndIgnored) {
  test_support::TempDir dir("state_publisher_test");
  EventBaseHandle base(event_base_new());
  const std::string log_path = dir.path() + "/stderr";
  int saved = ::dup(STDERR_FILENO);
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(log_fd, 0);
  ::dup2(log_fd, STDERR_FILENO);
  {
    StatePublisher publisher(base.get(), dir.path() + "/no-such-dir/master.state", "/etc/postern",
                             [] { return std::vector<ServiceState>{}; });
    EXPECT_FALSE(publisher.write_now());
    EXPECT_FALSE(publisher.write_now());
    EXPECT_FALSE(publisher.write_now());
  }
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(log_fd);
  std::string log = read_text(log_path);
  size_t first = log.find("cannot publish the service state");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("cannot publish the service state", first + 1), std::string::npos) << log;
}

ServiceRun shell_service(const std::string& name, const std::string& script, int fd) {
  ServiceRun run;
  run.key = "unix /test/" + name;
  run.name = name;
  run.command = "sh";
  run.program = "/bin/sh";
  run.argv = {"/bin/sh", "-c", script};
  run.listen_fd = fd;
  run.main_cf_fd = fd;
  run.max_processes = 1;
  return run;
}

TEST(ProcessSupervisorState, CrashingServiceIsThrottledWithItsExit) {
  EventBaseHandle base(event_base_new());
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  ProcessSupervisor supervisor(base.get());
  int changes = 0;
  supervisor.set_on_change([&] { ++changes; });
  SupervisorSettings settings;
  settings.throttle.first = std::chrono::milliseconds(60000);
  settings.throttle.limit = std::chrono::milliseconds(60000);
  std::vector<ServiceRun> runs;
  runs.push_back(shell_service("crashy", "exit 3", null_fd));
  runs.push_back(shell_service("steady", "exec sleep 30", null_fd));
  supervisor.replace_services(std::move(runs), settings);
  EXPECT_GT(changes, 0);
  auto states = supervisor.service_states();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[1].name, "steady");
  EXPECT_EQ(states[1].state, "up");
  EXPECT_EQ(states[1].workers, 1);

  const int64_t started = unix_now();
  for (int i = 0; i < 500 && supervisor.service_states()[0].state != "throttled"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    supervisor.reap_children();
  }
  states = supervisor.service_states();
  EXPECT_EQ(states[0].state, "throttled");
  EXPECT_EQ(states[0].last_exit, "exit status 3");
  EXPECT_EQ(states[0].crashes, 1);
  EXPECT_EQ(states[0].workers, 0);
  EXPECT_GE(states[0].last_exit_at, started);
  EXPECT_GE(states[0].throttled_until, started + 59);
  EXPECT_LE(states[0].throttled_until, unix_now() + 61);
  EXPECT_EQ(states[1].state, "up");

  supervisor.begin_shutdown();
  supervisor.kill_remaining();
  EXPECT_EQ(supervisor.live_processes(), 0u);
  ::close(null_fd);
}

}  // namespace
}  // namespace postern::master
