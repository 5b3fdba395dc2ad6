// The worker processes: fork+exec of $daemon_directory/postern-<command> with the service's
// listener on fd 3 and a master-watch socket on fd 4, restart of a worker that exits unexpectedly
// after a throttle (master/service_throttle.hpp: doubling from service_throttle_time, capped at
// service_throttle_limit, forever: a service is never given up), the hand-over to a new
// generation on SIGHUP, and the stop on SIGTERM. Process: master.
// Trusts its own config; treats each worker's exit status as news, never as a command.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/queue/master_state.hpp"
#include "master/service_throttle.hpp"

namespace postern::master {

// One listener's worth of workers, as the supervisor starts them.
struct ServiceRun {
  std::string key;                // the listener's key: the same service across reloads
  std::string name;               // master.cf service name, for log lines
  std::string command;            // master.cf command ("smtpd"), for the state file
  std::string program;            // absolute path of the executable
  std::vector<std::string> argv;  // argv[0] = program
  int listen_fd = -1;             // borrowed from the ServiceTable
  int main_cf_fd = -1;            // borrowed from the MasterConfig: the checked main.cf (fd 5, -m)
  int max_processes = 1;
  // Start only once the previous generation's workers of this key have gone (unix services
  // such as qmgr must not run twice at once); inet services hand over at once.
  bool wait_for_previous = false;
};

struct SupervisorSettings {
  ThrottleSettings throttle;
  int64_t grace_seconds = 10;
};

class ProcessSupervisor {
 public:
  explicit ProcessSupervisor(event_base* base) : base_(base) {}
  ProcessSupervisor(const ProcessSupervisor&) = delete;
  ProcessSupervisor& operator=(const ProcessSupervisor&) = delete;
  ~ProcessSupervisor();

  // Starts a new generation: the running workers are retired (SIGTERM, pipe closed; they
  // finish what they are doing) and runs are started. Used at start and on SIGHUP.
  void replace_services(std::vector<ServiceRun> runs, const SupervisorSettings& settings);
  // Reaps every exited child (SIGCHLD) and acts on each exit.
  void reap_children();
  // SIGTERM to every worker; nothing is restarted from now on.
  void begin_shutdown();
  // SIGKILL to every worker left, then reaps them (bounded wait).
  void kill_remaining();
  size_t live_processes() const;
  // Hands fd (a reopened maillog_file) to every worker, current and retired, over its watch
  // socket; returns how many took it (a worker that has exited is not counted).
  size_t send_log_file(int fd);

  // Each service as `postern status` shows it (lib/queue/master_state.hpp), in master.cf order.
  std::vector<ServiceState> service_states() const;
  // Called (from inside the loop, never blocking) after anything service_states() shows has
  // changed: a worker started or exited, a throttle began or ended, a new generation.
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

 private:
  struct Worker {
    pid_t pid = -1;
    UniqueFd watch_socket;  // master's end; closing it tells the worker master is gone
  };
  struct Service {
    Service(ProcessSupervisor* owner_, ServiceRun run_, const ThrottleSettings& settings)
        : owner(owner_), run(std::move(run_)), throttle(settings, ThrottleClock::now()) {}
    ProcessSupervisor* owner = nullptr;
    ServiceRun run;
    std::map<pid_t, Worker> workers;
    ServiceThrottle throttle;
    SingleEventHandle restart_timer;  // pending while the service is throttled
    bool waiting = false;             // for the previous generation to go
    std::string last_exit;            // why its last worker went ("killed by signal 9")
    int64_t last_exit_at = 0;         // Unix seconds
    int64_t throttled_until = 0;      // Unix seconds, while throttled
  };
  struct RetiredWorker {
    std::string key;
    std::string program;
    UniqueFd watch_socket;
  };

  static void on_restart_timer(int fd, short what, void* arg);
  static void on_retire_deadline(int fd, short what, void* arg);
  void fill(Service& service);  // starts workers until max_processes run
  bool spawn(Service& service, std::string* why);  // why: set when it fails
  // Throttles the service (master/service_throttle.hpp); why: the exit or the start failure.
  void record_crash(Service& service, const std::string& why);
  void changed() const {
    if (on_change_) on_change_();
  }
  void start_waiting_services();
  bool previous_generation_running(const std::string& key) const;

  event_base* base_;
  SupervisorSettings settings_;
  std::vector<std::unique_ptr<Service>> services_;
  std::map<pid_t, RetiredWorker> retired_;
  SingleEventHandle retire_deadline_;
  bool shutting_down_ = false;
  std::function<void()> on_change_;
};

}  // namespace postern::master
