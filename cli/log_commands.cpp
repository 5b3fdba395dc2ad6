// `postern log reopen` (cli/log_commands.hpp). Process: the postern command, root or master's
// user. Reads /proc and the pid file, bounded (kMaxProcFileBytes); waits at most timeout_ms.
#include "cli/log_commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "cli/master_process.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {

using cli::kMaxProcFileBytes;
using cli::parse_pid;
using cli::read_proc_file;
using cli::running_master;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(20);

// The state letter after the name in /proc/PID/stat text, or '\0'.
char state_from_stat(std::string_view stat_text) {
  size_t close = stat_text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= stat_text.size()) return '\0';
  return stat_text[close + 2];
}

}  // namespace

pid_t parent_pid_from_stat(std::string_view stat_text) {
  // "PID (COMM) STATE PPID ...": COMM may hold anything, so look from the last ')'.
  size_t close = stat_text.rfind(')');
  if (close == std::string_view::npos) return -1;
  std::string_view rest = stat_text.substr(close + 1);
  // " S 1 ..."
  if (rest.size() < 4 || rest[0] != ' ' || rest[2] != ' ') return -1;
  rest.remove_prefix(3);
  size_t end = rest.find(' ');
  auto pid = parse_pid(rest.substr(0, end));
  if (!pid) return rest.substr(0, end) == "0" ? 0 : -1;
  return *pid;
}

std::vector<pid_t> child_processes(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = ::readdir(proc)) {
    auto pid = parse_pid(entry->d_name);
    if (!pid) continue;
    auto stat = read_proc_file(fmt::format("/proc/{}/stat", *pid));
    if (!stat) continue;  // gone meanwhile
    if (parent_pid_from_stat(*stat) != parent || state_from_stat(*stat) == 'Z') continue;
    children.push_back(*pid);
  }
  ::closedir(proc);
  return children;
}

std::vector<pid_t> stderr_elsewhere(const std::vector<pid_t>& pids, const std::string& path) {
  std::vector<pid_t> elsewhere;
  struct stat wanted {};
  bool have_file = ::stat(path.c_str(), &wanted) == 0;
  for (pid_t pid : pids) {
    struct stat now {};
    if (::stat(fmt::format("/proc/{}/fd/2", pid).c_str(), &now) == 0) {
      if (have_file && now.st_dev == wanted.st_dev && now.st_ino == wanted.st_ino) continue;
    } else if (errno == ENOENT) {
      bool gone = ::kill(pid, 0) != 0 && errno == ESRCH;
      if (gone) continue;
    }
    elsewhere.push_back(pid);
  }
  return elsewhere;
}

Result<std::string> reopen_log(const MainConfig& config, int timeout_ms) {
  std::string path = config.get("maillog_file");
  if (path.empty()) {
    return Error::config(
        "maillog_file is not set: Postern logs to syslog, whose own rotation reopens its files");
  }
  const QueueLayout layout{config.get("queue_directory")};
  auto master = running_master(layout.pid_file());
  if (!master) return master.error();
  if (::kill(*master, SIGUSR1) != 0) {
    return Error::system(fmt::format("signal postern-master (pid {})", *master));
  }
  if (path == "/dev/stdout") {
    return fmt::format("{} is standard output: nothing to reopen", path);
  }
  // Master opens the file in its event loop and hands it to its workers, which each take it in
  // theirs: done when every one of them has it on fd 2.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<pid_t> waiting;
  size_t processes = 0;
  while (true) {
    std::vector<pid_t> pids = child_processes(*master);
    pids.insert(pids.begin(), *master);
    processes = pids.size();
    waiting = stderr_elsewhere(pids, path);
    if (waiting.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (!waiting.empty()) {
    return Error{
        ErrorKind::kPermanent,
        fmt::format("after {} ms, {} of {} processes (pids {}) do not write to {} yet; "
                    "see the log of postern-master (pid {})",
                    timeout_ms, waiting.size(), processes, fmt::join(waiting, ", "), path, *master),
        0};
  }
  return fmt::format("{} reopened by postern-master (pid {}) and its {} worker{}", path, *master,
                     processes - 1, processes == 2 ? "" : "s");
}

}  // namespace postern
