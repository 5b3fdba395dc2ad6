// postern-master: the supervisor. Reads main.cf, master.cf and the accounts file, creates the
// queue, mailbox and data folders, takes the pid-file lock, binds every listener, loads the
// accounts into LMDB, then (unless -f) detaches, and runs the workers until SIGTERM. With
// maillog_file it opens that file (as root, before any worker exists) and puts it on its stderr,
// where every worker inherits it (master/maillog.hpp).
//   postern-master [-c CONFIG_DIR] [-f] [-t] [-v]
// Process: master, as root (workers drop to mail_owner themselves) or as an ordinary user.
// Trusts the admin's config files, checked before anything is started: any error is one
// file:line message on stderr and a non-zero exit.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"
#include "master/accounts_loader.hpp"
#include "master/lookup_tables_loader.hpp"
#include "master/maillog.hpp"
#include "master/master.hpp"
#include "master/master_config.hpp"
#include "master/pid_file.hpp"
#include "master/runtime_dirs.hpp"
#include "master/service_table.hpp"

namespace postern::master {
namespace {

struct MasterArgs {
  std::string config_dir = "/etc/postern";
  bool foreground = false;
  bool check_only = false;
  bool debug = false;
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr,
               "postern-master: %s\nusage: postern-master [-c CONFIG_DIR] [-f] [-t] [-v]\n"
               "  -f  stay in the foreground and log to stderr\n"
               "  -t  check the configuration and exit (0 when usable)\n"
               "  -v  debug logging\n",
               problem);
  std::exit(2);
}

MasterArgs parse_args(int argc, char** argv) {
  MasterArgs args;
  int option;
  while ((option = ::getopt(argc, argv, "c:ftvh")) != -1) {
    switch (option) {
      case 'c':
        args.config_dir = optarg;
        break;
      case 'f':
        args.foreground = true;
        break;
      case 't':
        args.check_only = true;
        break;
      case 'v':
        args.debug = true;
        break;
      case 'h':
        usage("the Postern supervisor");
      default:
        usage("unknown option");
    }
  }
  if (optind != argc) usage("unexpected argument");
  if (args.config_dir.empty()) usage("-c: empty configuration directory");
  // Workers run with the same -c; make it independent of our working directory.
  if (args.config_dir.front() != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) usage("cannot read the working directory");
    args.config_dir = std::string(cwd) + "/" + args.config_dir;
  }
  while (args.config_dir.size() > 1 && args.config_dir.back() == '/') args.config_dir.pop_back();
  return args;
}

// Descriptors 0-2 must be open before we create sockets, or a listener could land on fd 2.
void ensure_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1) continue;
    int opened = ::open("/dev/null", O_RDWR);
    if (opened != fd) std::abort();  // opened returns the lowest free fd: this one
  }
}

// Detaches from the terminal: the parent writes the child's pid into the pid file and exits 0,
// the child leads a new session with its standard descriptors on /dev/null. The pid-file lock
// is shared with the child and survives. The pid is in the file before the parent exits, as a
// forking service manager (systemd's Type=forking, start-stop-daemon) expects it.
void daemonize(PidFile& pid_file) {
  pid_t pid = ::fork();
  if (pid < 0) log::fatal("fork: {}", std::strerror(errno));
  if (pid > 0) {
    if (Status written = pid_file.write_pid(pid); !written) {
      ::kill(pid, SIGKILL);  // nothing started yet: no worker, no client
      log::fatal("{}", written.error().describe());
    }
    ::_exit(0);
  }
  if (::setsid() < 0) log::fatal("setsid: {}", std::strerror(errno));
  if (::chdir("/") != 0) log::fatal("chdir /: {}", std::strerror(errno));
  int null_fd = ::open("/dev/null", O_RDWR);
  if (null_fd < 0) log::fatal("open /dev/null: {}", std::strerror(errno));
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null_fd, fd);
  if (null_fd > 2) ::close(null_fd);
}

// -t: every program a service names should be there.
int check_programs(const MasterConfig& config) {
  int missing = 0;
  for (const ServiceEntry& service : config.services) {
    std::string program = program_path(config.main, service);
    if (::access(program.c_str(), X_OK) != 0) {
      log::warning("{}/master.cf:{}: service {}: cannot execute {}: {}", config.config_dir,
                   service.line, service.name, program, std::strerror(errno));
      ++missing;
    }
  }
  return missing;
}

int run(int argc, char** argv) {
  MasterArgs args = parse_args(argc, argv);
  // Until the event loop watches them, the signals we answer wait (blocked) instead of killing
  // us: a SIGHUP sent while we start becomes a reload right after it. Master::run unblocks.
  sigset_t handled;
  sigemptyset(&handled);
  for (int signal_number : kHandledSignals) sigaddset(&handled, signal_number);
  ::sigprocmask(SIG_BLOCK, &handled, nullptr);
  ::umask(022);
  ensure_standard_descriptors();
  log::init("postern/master", true);
  if (args.debug) log::set_debug(true);

  auto loaded = load_master_config(args.config_dir);
  if (!loaded) log::fatal("{}", loaded.error().describe());
  MasterConfig config = std::move(loaded).value();
  std::string syslog_name = config.main.get("syslog_name");
  std::string program_name = (syslog_name.empty() ? "postern" : syslog_name) + "/master";
  log::init(program_name, true);
  log::set_host_name(config.main.get("myhostname"));
  for (const ConfigWarning& warning : config.warnings) log::warning("{}", warning.describe());
  auto plans = plan_listeners(config);
  if (!plans) log::fatal("{}", plans.error().describe());

  if (args.check_only) {
    check_programs(config);
    if (auto tables = read_lookup_tables_for_master(config.main); !tables) {
      log::fatal("{}", tables.error().describe());
    }
    log::info("configuration {} is usable: {} services, {} listeners, {} domains",
              config.config_dir, config.services.size(), plans->size(),
              config.accounts.domains.size());
    return 0;
  }

  if (Status dirs = ensure_runtime_directories(config.main, config.owner); !dirs) {
    log::fatal("{}", dirs.error().describe());
  }
  QueueLayout layout{config.main.get("queue_directory")};
  auto pid_file = PidFile::lock(layout.pid_file());
  if (!pid_file) log::fatal("{}", pid_file.error().describe());
  // In the foreground the pid is ours already: in the file before any listener is bound, so a
  // client that can connect (or `postern status`) finds it. A daemon's parent writes the
  // child's (daemonize).
  if (args.foreground) {
    if (Status written = pid_file->write_pid(::getpid()); !written) {
      log::fatal("{}", written.error().describe());
    }
  }
  // Opened now, as root, so that a path it cannot open stops the start with a message on the
  // terminal; it becomes our stderr (and so every worker's) once start-up is done.
  std::string maillog_file = config.main.get("maillog_file");
  UniqueFd maillog;
  if (!maillog_file.empty()) {
    auto opened = open_maillog_file(maillog_file);
    if (!opened) log::fatal("{}", opened.error().describe());
    maillog = std::move(opened).value();
  }
  // Under the pid-file lock (a second master must not rebuild them), and before the listeners
  // are bound: a client that can connect finds the tables, and the pid, soon after.
  auto lookup_tables = read_lookup_tables_for_master(config.main);
  if (!lookup_tables) log::fatal("{}", lookup_tables.error().describe());
  if (Status tables = install_lookup_tables(*lookup_tables, config.main, config.owner); !tables) {
    log::fatal("{}", tables.error().describe());
  }
  ServiceTable table;
  if (Status bound = table.apply(*plans, config); !bound) {
    log::fatal("{}", bound.error().describe());
  }
  if (Status accounts = load_accounts_into_lmdb(config.accounts, config.main, config.owner);
      !accounts) {
    log::fatal("accounts: {}", accounts.error().describe());
  }

  if (!args.foreground) daemonize(*pid_file);
  if (maillog) {
    if (::dup2(maillog.get(), STDERR_FILENO) < 0) {
      log::fatal("maillog_file {}: dup2: {}", maillog_file, std::strerror(errno));
    }
    maillog.reset();
    log::init(program_name, true);
  } else if (!args.foreground) {
    log::init(program_name, false);
  }
  Master master(std::move(config), std::move(plans).value(), std::move(table),
                std::move(pid_file).value(), args.foreground, maillog_file);
  return master.run();
}

}  // namespace
}  // namespace postern::master

int main(int argc, char** argv) {
  return postern::master::run(argc, argv);
}
