// The master's event loop (master/master.hpp). Process: master. A reload is all or nothing:
// any error in main.cf, master.cf or the accounts file, or a listener that cannot be bound,
// is logged and the running configuration stays. A stop closes the listeners, sends SIGTERM to
// every worker, waits up to shutdown_grace_time, then SIGKILLs what is left. SIGUSR1 reopens
// maillog_file and hands the new file to every worker (master/maillog.hpp).
#include "master/master.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>

#include "lib/base/log.hpp"
#include "master/accounts_loader.hpp"
#include "master/lookup_tables_loader.hpp"
#include "master/maillog.hpp"
#include "master/runtime_dirs.hpp"

namespace postern::master {

Master::Master(MasterConfig config, std::vector<ListenerPlan> plans, ServiceTable table,
               PidFile pid_file, bool foreground, std::string maillog_file)
    : base_(event_base_new()),
      config_(std::move(config)),
      plans_(std::move(plans)),
      table_(std::move(table)),
      pid_file_(std::move(pid_file)),
      foreground_(foreground),
      maillog_file_(std::move(maillog_file)) {
  if (!base_) log::fatal("cannot create the event loop");
  supervisor_ = std::make_unique<ProcessSupervisor>(base_.get());
  // The pid file's folder: where the queue was when master started (as the pid file stays).
  std::string pid_dir = pid_file_.path().substr(0, pid_file_.path().rfind('/'));
  state_publisher_ = std::make_unique<StatePublisher>(
      base_.get(), pid_dir + "/master.state", config_.config_dir,
      [this] { return supervisor_->service_states(); });
  supervisor_->set_on_change([this] { state_publisher_->schedule(); });
}

Master::~Master() {
  // Workers first (their pipes close), then listeners and the state file; the pid file goes last.
  supervisor_.reset();
  state_publisher_.reset();
  signal_events_.clear();
  grace_timer_.reset();
}

int Master::run() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t handled;
  sigemptyset(&handled);
  for (int signal_number : kHandledSignals) {
    SingleEventHandle ev(evsignal_new(base_.get(), signal_number, &Master::on_signal, this));
    if (!ev || evsignal_add(ev.get(), nullptr) != 0) {
      log::fatal("cannot watch signal {}", signal_number);
    }
    signal_events_.push_back(std::move(ev));
    sigaddset(&handled, signal_number);
  }
  ::sigprocmask(SIG_UNBLOCK, &handled, nullptr);  // blocked since main(); pending ones now run
  log::info("daemon started -- configuration {}", config_.config_dir);
  start_generation();
  state_publisher_->write_now();  // before the loop: a `postern status` right after start finds it
  event_base_dispatch(base_.get());
  log::info("stopped");
  return 0;
}

void Master::start_generation() {
  std::vector<ServiceRun> runs;
  for (const ListenerPlan& plan : plans_) {
    if (table_.fd_for(plan.key) < 0) continue;  // an optional listener that was not bound
    const ServiceEntry& service = config_.services[plan.service_index];
    ServiceRun run;
    run.key = plan.key;
    run.name = service.name;
    run.command = service.command;
    run.program = program_path(config_.main, service);
    run.argv = {run.program, "-c", config_.config_dir, "-n", service.name, "-t", service.type};
    if (foreground_ || !maillog_file_.empty()) run.argv.push_back("-S");
    run.argv.push_back("-m");
    for (const auto& [name, value] : service.overrides) {
      run.argv.push_back("-o");
      run.argv.push_back(name + "=" + value);
    }
    if (!service.args.empty()) {
      run.argv.push_back("--");
      run.argv.insert(run.argv.end(), service.args.begin(), service.args.end());
    }
    run.listen_fd = table_.fd_for(plan.key);
    run.main_cf_fd = config_.main_cf_snapshot.get();
    run.max_processes = service.max_processes;
    run.wait_for_previous = service.type == "unix";
    runs.push_back(std::move(run));
  }
  SupervisorSettings settings;
  auto milliseconds = [&](const char* name) {
    return std::chrono::milliseconds(config_.main.get_seconds(name) * 1000);
  };
  settings.throttle.first = milliseconds("service_throttle_time");
  settings.throttle.limit = milliseconds("service_throttle_limit");
  settings.throttle.reset_after = milliseconds("service_throttle_reset_time");
  settings.grace_seconds = config_.main.get_seconds("shutdown_grace_time");
  supervisor_->replace_services(std::move(runs), settings);
}

void Master::reload() {
  log::info("reload -- configuration {}", config_.config_dir);
  auto next = load_master_config(config_.config_dir);
  if (!next) {
    log::error("reload failed: {}; keeping the running configuration", next.error().describe());
    return;
  }
  for (const ConfigWarning& warning : next->warnings) log::warning("{}", warning.describe());
  if (next->main.get("queue_directory") != config_.main.get("queue_directory")) {
    log::warning("queue_directory changed: the pid file stays in {} until master restarts",
                 pid_file_.path());
  }
  if (Status dirs = ensure_runtime_directories(next->main, next->owner); !dirs) {
    log::error("reload failed: {}; keeping the running configuration", dirs.error().describe());
    return;
  }
  auto plans = plan_listeners(*next);
  if (!plans) {
    log::error("reload failed: {}; keeping the running configuration", plans.error().describe());
    return;
  }
  // Every table is read and checked before anything is written. They go in before the accounts
  // so that the accounts commit stays right before the new generation starts (the running
  // workers see a committed LMDB change at once).
  auto lookup_tables = read_lookup_tables_for_master(next->main);
  if (!lookup_tables) {
    log::error("reload failed: {}; keeping the running configuration and lookup tables",
               lookup_tables.error().describe());
    return;
  }
  if (Status tables = install_lookup_tables(*lookup_tables, next->main, next->owner); !tables) {
    log::error("reload failed: {}; keeping the running configuration", tables.error().describe());
    return;
  }
  if (Status accounts = load_accounts_into_lmdb(next->accounts, next->main, next->owner);
      !accounts) {
    log::error("reload failed: accounts: {}; keeping the running configuration",
               accounts.error().describe());
    return;
  }
  if (Status applied = table_.apply(*plans, *next); !applied) {
    log::error("reload failed: {}; keeping the running services", applied.error().describe());
    return;
  }
  config_ = std::move(next).value();
  plans_ = std::move(plans).value();
  log::set_host_name(config_.main.get("myhostname"));
  if (std::string wanted = config_.main.get("maillog_file"); wanted != maillog_file_) {
    if (!wanted.empty() && !maillog_file_.empty()) {
      if (open_log(wanted)) maillog_file_ = wanted;  // else the old file, and a retry next time
    } else {
      log::warning(
          "maillog_file changed from \"{}\" to \"{}\": that takes effect when "
          "postern-master restarts",
          maillog_file_, wanted);
    }
  }
  start_generation();
}

void Master::reopen_log() {
  if (maillog_file_.empty()) {
    log::warning("SIGUSR1: maillog_file is not set, there is no log file to reopen");
    return;
  }
  if (maillog_file_ == kMaillogStdout) {
    log::info("SIGUSR1: maillog_file is {}: nothing to reopen", maillog_file_);
    return;
  }
  open_log(maillog_file_);
}

bool Master::open_log(const std::string& path) {
  auto opened = open_maillog_file(path);
  if (!opened) {
    log::error("cannot reopen the log: {}; logging goes on to the file already open",
               opened.error().describe());
    return false;
  }
  if (::dup2(opened->get(), STDERR_FILENO) < 0) {
    log::error("cannot reopen the log: dup2: {}; logging goes on to the file already open",
               std::strerror(errno));
    return false;
  }
  size_t workers = supervisor_->send_log_file(opened->get());
  log::info("reopened {} (and handed it to {} worker{})", path, workers, workers == 1 ? "" : "s");
  return true;
}

void Master::begin_shutdown(int signal_number) {
  if (stopping_) {
    log::warning("signal {} again: killing the workers now", signal_number);
    supervisor_->kill_remaining();
    event_base_loopbreak(base_.get());
    return;
  }
  stopping_ = true;
  log::info("terminating on signal {}", signal_number);
  table_.close_all();
  supervisor_->begin_shutdown();
  grace_timer_.reset(evtimer_new(base_.get(), &Master::on_grace_timeout, this));
  if (!grace_timer_) log::fatal("cannot create a timer");
  timeval grace{};
  grace.tv_sec = static_cast<time_t>(config_.main.get_seconds("shutdown_grace_time"));
  evtimer_add(grace_timer_.get(), &grace);
  stop_when_idle();
}

void Master::stop_when_idle() {
  if (stopping_ && supervisor_->live_processes() == 0) event_base_loopbreak(base_.get());
}

void Master::on_grace_timeout(int, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  self->supervisor_->kill_remaining();
  event_base_loopbreak(self->base_.get());
}

void Master::on_signal(int signal_number, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  switch (signal_number) {
    case SIGCHLD:
      self->supervisor_->reap_children();
      self->stop_when_idle();
      break;
    case SIGHUP:
      if (!self->stopping_) self->reload();
      break;
    case SIGUSR1:
      self->reopen_log();
      break;
    default:
      self->begin_shutdown(signal_number);
      break;
  }
}

}  // namespace postern::master
