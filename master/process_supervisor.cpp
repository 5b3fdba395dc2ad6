// Worker supervision (master/process_supervisor.hpp). Process: master, inside its libevent
// loop: SIGCHLD leads to reap_children(), throttle timers to fill(). Bounded: at most
// max_processes workers a service, kMaxReapsPerCall exits handled per SIGCHLD round, one start
// attempt per service per throttle (at least kMinThrottle apart, at most service_throttle_limit),
// and the final wait for killed workers capped at kKillWaitMs. A service is never given up: a
// supervisor that stays up with nothing under it is the worst case.
#include "master/process_supervisor.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "lib/base/log.hpp"
#include "lib/net/daemon.hpp"
#include "master/worker_spawn.hpp"

namespace postern::master {
namespace {

constexpr int kMaxReapsPerCall = 100000;
constexpr int kKillWaitMs = 5000;
constexpr int kKillPollMs = 10;

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  return fmt::format("wait status {}", status);
}

// What a worker does when asked to stop: exit 0, or die of the SIGTERM it was sent.
bool clean_stop(int status) {
  return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
         (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
}

timeval seconds(int64_t count) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(count);
  return tv;
}

timeval to_timeval(std::chrono::milliseconds delay) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(delay.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((delay.count() % 1000) * 1000);
  return tv;
}

// "2s", "0.1s", "1.5s": a throttle's length for a log line.
std::string describe_delay(std::chrono::milliseconds delay) {
  int64_t ms = delay.count();
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  if (ms % 100 == 0) return fmt::format("{}.{}s", ms / 1000, (ms % 1000) / 100);
  return fmt::format("{}.{:03}s", ms / 1000, ms % 1000);
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ProcessSupervisor::~ProcessSupervisor() = default;

void ProcessSupervisor::replace_services(std::vector<ServiceRun> runs,
                                         const SupervisorSettings& settings) {
  settings_ = settings;
  for (auto& service : services_) {
    for (auto& [pid, worker] : service->workers) {
      ::kill(pid, SIGTERM);
      retired_.emplace(pid, RetiredWorker{service->run.key, service->run.program,
                                          std::move(worker.watch_socket)});
    }
  }
  services_.clear();  // frees their restart timers

  bool any_waiting = false;
  for (ServiceRun& run : runs) {
    auto service = std::make_unique<Service>(this, std::move(run), settings_.throttle);
    service->restart_timer.reset(
        evtimer_new(base_, &ProcessSupervisor::on_restart_timer, service.get()));
    if (!service->restart_timer) log::fatal("cannot create a restart timer");
    if (service->run.wait_for_previous && previous_generation_running(service->run.key)) {
      service->waiting = true;
      any_waiting = true;
    }
    services_.push_back(std::move(service));
  }
  for (auto& service : services_) fill(*service);
  changed();

  if (any_waiting) {
    retire_deadline_.reset(evtimer_new(base_, &ProcessSupervisor::on_retire_deadline, this));
    if (!retire_deadline_) log::fatal("cannot create a timer");
    timeval grace = seconds(settings_.grace_seconds);
    evtimer_add(retire_deadline_.get(), &grace);
  }
}

void ProcessSupervisor::fill(Service& service) {
  if (service.throttle.throttled() || service.waiting || shutting_down_) return;
  while (static_cast<int>(service.workers.size()) < service.run.max_processes) {
    std::string why;
    if (!spawn(service, &why)) {
      record_crash(service, why);
      break;
    }
  }
  changed();
}

bool ProcessSupervisor::spawn(Service& service, std::string* why) {
  auto spawned = spawn_worker(service.run.program, service.run.argv, service.run.listen_fd,
                              service.run.main_cf_fd);
  if (!spawned) {
    *why = spawned.error().describe();
    log::warning("service {}: {}", service.run.name, *why);
    return false;
  }
  pid_t pid = spawned->pid;
  service.workers.emplace(pid, Worker{pid, std::move(spawned->watch_socket)});
  log::debug("service {}: started {} pid {}", service.run.name, service.run.program, pid);
  return true;
}

void ProcessSupervisor::record_crash(Service& service, const std::string& why) {
  ThrottleDecision decision = service.throttle.crashed(ThrottleClock::now());
  service.last_exit = why;
  service.last_exit_at = unix_now();
  changed();
  if (decision.streak_reset) {
    log::info("service {}: no crash for {} since its last throttle: the back-off starts over",
              service.run.name, describe_delay(settings_.throttle.reset_after));
  }
  if (!decision.throttle) {
    log::debug("service {}: crash {} while throttled", service.run.name, decision.crashes);
    return;
  }
  log::warning("service {}: throttling for {} after {} crash{}", service.run.name,
               describe_delay(decision.delay), decision.crashes, decision.crashes == 1 ? "" : "es");
  timeval tv = to_timeval(decision.delay);
  evtimer_add(service.restart_timer.get(), &tv);
  // Rounded up: "throttled until" never names a second already past while it still is.
  service.throttled_until = unix_now() + (decision.delay.count() + 999) / 1000;
}

void ProcessSupervisor::on_restart_timer(int, short, void* arg) {
  auto* service = static_cast<Service*>(arg);
  service->throttle.ended(ThrottleClock::now());
  service->throttled_until = 0;
  log::info("service {}: throttle over after {} crash{}: starting it again", service->run.name,
            service->throttle.crashes(), service->throttle.crashes() == 1 ? "" : "es");
  service->owner->fill(*service);
}

void ProcessSupervisor::reap_children() {
  for (int round = 0; round < kMaxReapsPerCall; ++round) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (auto retired = retired_.find(pid); retired != retired_.end()) {
      if (clean_stop(status)) {
        log::debug("process {} pid {} {}", retired->second.program, pid, describe_exit(status));
      } else {
        log::warning("process {} pid {} {}", retired->second.program, pid, describe_exit(status));
      }
      retired_.erase(retired);
      continue;
    }
    Service* owner = nullptr;
    for (auto& service : services_) {
      if (service->workers.erase(pid) > 0) {
        owner = service.get();
        break;
      }
    }
    if (owner == nullptr) {
      log::debug("reaped unknown child pid {} ({})", pid, describe_exit(status));
      continue;
    }
    if (shutting_down_ && clean_stop(status)) {
      log::debug("process {} pid {} {}", owner->run.program, pid, describe_exit(status));
      continue;
    }
    log::warning("process {} pid {} {}", owner->run.program, pid, describe_exit(status));
    if (!shutting_down_) record_crash(*owner, describe_exit(status));
  }
  start_waiting_services();
}

bool ProcessSupervisor::previous_generation_running(const std::string& key) const {
  for (const auto& [pid, retired] : retired_) {
    if (retired.key == key) return true;
  }
  return false;
}

void ProcessSupervisor::start_waiting_services() {
  for (auto& service : services_) {
    if (service->waiting && !previous_generation_running(service->run.key)) {
      service->waiting = false;
      fill(*service);
    }
  }
}

void ProcessSupervisor::on_retire_deadline(int, short, void* arg) {
  auto* self = static_cast<ProcessSupervisor*>(arg);
  for (auto& service : self->services_) {
    if (!service->waiting) continue;
    for (const auto& [pid, retired] : self->retired_) {
      if (retired.key != service->run.key) continue;
      log::warning("process {} pid {} still running {}s after the reload: killing it",
                   retired.program, pid, self->settings_.grace_seconds);
      ::kill(pid, SIGKILL);
    }
  }
}

void ProcessSupervisor::begin_shutdown() {
  shutting_down_ = true;
  for (auto& service : services_) {
    evtimer_del(service->restart_timer.get());
    for (const auto& [pid, worker] : service->workers) ::kill(pid, SIGTERM);
  }
  for (const auto& [pid, retired] : retired_) ::kill(pid, SIGTERM);
}

void ProcessSupervisor::kill_remaining() {
  for (auto& service : services_) {
    for (const auto& [pid, worker] : service->workers) {
      log::warning("process {} pid {} did not stop in time: killing it", service->run.program, pid);
      ::kill(pid, SIGKILL);
    }
  }
  for (const auto& [pid, retired] : retired_) {
    log::warning("process {} pid {} did not stop in time: killing it", retired.program, pid);
    ::kill(pid, SIGKILL);
  }
  for (int waited = 0; waited < kKillWaitMs && live_processes() > 0; waited += kKillPollMs) {
    reap_children();
    if (live_processes() == 0) break;
    ::usleep(kKillPollMs * 1000);
  }
}

std::vector<ServiceState> ProcessSupervisor::service_states() const {
  std::vector<ServiceState> states;
  states.reserve(services_.size());
  for (const auto& service : services_) {
    ServiceState state;
    state.name = service->run.name;
    state.command = service->run.command;
    state.listen = service->run.key;
    state.state = service->throttle.throttled() ? "throttled"
                  : service->waiting            ? "waiting"
                                                : "up";
    state.workers = static_cast<int64_t>(service->workers.size());
    state.max_processes = service->run.max_processes;
    state.crashes = service->throttle.crashes();
    state.last_exit = service->last_exit;
    state.last_exit_at = service->last_exit_at;
    state.throttled_until = service->throttle.throttled() ? service->throttled_until : 0;
    states.push_back(std::move(state));
  }
  return states;
}

size_t ProcessSupervisor::live_processes() const {
  size_t count = retired_.size();
  for (const auto& service : services_) count += service->workers.size();
  return count;
}

size_t ProcessSupervisor::send_log_file(int fd) {
  size_t sent = 0;
  auto send_one = [&](pid_t pid, const std::string& program, const UniqueFd& watch) {
    if (!watch) return;
    if (Status done = postern::send_log_file(watch.get(), fd); !done) {
      // ECONNRESET/EPIPE: it has exited and is about to be reaped; anything else is news.
      int err = done.error().sys_errno;
      if (err != EPIPE && err != ECONNRESET) {
        log::warning("{} pid {}: {}; it logs on to the old file", program, pid,
                     done.error().describe());
      }
      return;
    }
    ++sent;
  };
  for (const auto& service : services_) {
    for (const auto& [pid, worker] : service->workers) {
      send_one(pid, service->run.program, worker.watch_socket);
    }
  }
  for (const auto& [pid, retired] : retired_) send_one(pid, retired.program, retired.watch_socket);
  return sent;
}

}  // namespace postern::master
