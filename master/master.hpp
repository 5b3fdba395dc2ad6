// The running master: its libevent loop, the signals it answers (SIGHUP reload, SIGTERM/SIGINT
// stop, SIGCHLD reap, SIGUSR1 reopen maillog_file), and the configuration snapshot, listeners
// and workers it owns.
// Process: master. Trusts the admin's files (checked on every load) and nothing a worker says
// beyond its exit status.
#pragma once

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "master/master_config.hpp"
#include "master/pid_file.hpp"
#include "master/process_supervisor.hpp"
#include "master/service_table.hpp"
#include "master/state_publisher.hpp"

namespace postern::master {

// The signals master answers; blocked from the start of main() until run() watches them.
inline constexpr int kHandledSignals[] = {SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGUSR1};

class Master {
 public:
  // config, plans and table as main() checked and bound them; pid_file already holds the pid.
  // maillog_file: the path whose file main() put on our stderr, or "" (stderr when foreground,
  // else syslog); workers log to stderr (-S) when either is so.
  Master(MasterConfig config, std::vector<ListenerPlan> plans, ServiceTable table, PidFile pid_file,
         bool foreground, std::string maillog_file);
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;
  ~Master();

  // Runs until a stop signal has been handled; returns the exit status.
  int run();

 private:
  static void on_signal(int signal_number, short what, void* arg);
  static void on_grace_timeout(int fd, short what, void* arg);
  void start_generation();
  void reload();
  // SIGUSR1: maillog_file again (after a rename), to master's stderr and every worker's.
  void reopen_log();
  // Opens path, makes it our stderr and hands it to the workers; false (logged) if it cannot.
  bool open_log(const std::string& path);
  void begin_shutdown(int signal_number);
  void stop_when_idle();

  // Declared first: destroyed last, after every event and the supervisor.
  EventBaseHandle base_;
  MasterConfig config_;
  std::vector<ListenerPlan> plans_;
  ServiceTable table_;
  PidFile pid_file_;
  bool foreground_;
  std::string maillog_file_;
  std::unique_ptr<ProcessSupervisor> supervisor_;
  // $queue_directory/pid/master.state for `postern status`; removed before the pid file.
  std::unique_ptr<StatePublisher> state_publisher_;
  std::vector<SingleEventHandle> signal_events_;
  SingleEventHandle grace_timer_;
  bool stopping_ = false;
};

}  // namespace postern::master
