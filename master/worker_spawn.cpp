// Starting one worker process (master/worker_spawn.hpp). Process: master; the code after
// fork() runs in the child and only calls async-signal-safe functions (no allocation, no
// logging, no libevent) until execv. Signals are blocked around fork() so that a signal
// arriving in the child before exec cannot run master's libevent handler there.
#include "master/worker_spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/net/daemon.hpp"

namespace postern::master {
namespace {

constexpr int kHighFd = 10;  // scratch descriptors above the ones we set up

// Closes every descriptor from first up.
void close_from(int first) {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  long max_fd = ::sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = first; fd < max_fd; ++fd) ::close(fd);
}

void write_stderr(const char* a, const char* b, const char* c) {
  for (const char* part : {a, b, c}) {
    ssize_t ignored = ::write(STDERR_FILENO, part, std::strlen(part));
    (void)ignored;
  }
}

[[noreturn]] void child_after_fork(const char* program, char* const* argv, int listen_fd,
                                   int watch_worker, int main_cf_fd) {
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);  // SIGKILL/SIGSTOP just fail
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);

  // Move both out of the way first: either may already sit on 3 or 4.
  int listen_copy = ::fcntl(listen_fd, F_DUPFD, kHighFd);
  int watch_copy = ::fcntl(watch_worker, F_DUPFD, kHighFd + 1);
  int config_copy = ::fcntl(main_cf_fd, F_DUPFD, kHighFd + 2);
  if (listen_copy < 0 || watch_copy < 0 || config_copy < 0 || ::dup2(listen_copy, kListenFd) < 0 ||
      ::dup2(watch_copy, kMasterWatchFd) < 0 || ::dup2(config_copy, kMainCfFd) < 0) {
    write_stderr("postern-master: cannot set up descriptors for ", program, "\n");
    ::_exit(127);
  }
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0) {
    write_stderr("postern-master: cannot open /dev/null for ", program, "\n");
    ::_exit(127);
  }
  close_from(kMainCfFd + 1);
  ::execv(program, argv);
  write_stderr("postern-master: fatal: exec ", program, ": ");
  write_stderr(std::strerror(errno), "\n", "");
  ::_exit(127);
}

}  // namespace

Result<SpawnedWorker> spawn_worker(const std::string& program, const std::vector<std::string>& argv,
                                   int listen_fd, int main_cf_fd) {
  if (::access(program.c_str(), X_OK) != 0) return Error::system("cannot execute " + program);
  if (listen_fd < 0) return Error::config("no listener for " + program);
  if (main_cf_fd < 0) return Error::config("no main.cf snapshot for " + program);
  // SOCK_SEQPACKET: each message master sends arrives whole and alone; EOF when master goes.
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return Error::system("socketpair");
  }
  UniqueFd watch_master(pair[0]);
  UniqueFd watch_worker(pair[1]);

  std::vector<char*> raw_argv;
  raw_argv.reserve(argv.size() + 1);
  for (const std::string& arg : argv) raw_argv.push_back(const_cast<char*>(arg.c_str()));
  raw_argv.push_back(nullptr);

  sigset_t all;
  sigset_t old_mask;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old_mask);
  pid_t pid = ::fork();
  if (pid == 0) {
    child_after_fork(program.c_str(), raw_argv.data(), listen_fd, watch_worker.get(), main_cf_fd);
  }
  int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) return Error::system("fork for " + program, fork_errno);
  return SpawnedWorker{pid, std::move(watch_master)};
}


}  // namespace postern::master
