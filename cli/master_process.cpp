// The running postern-master: its pid file, /proc, SIGHUP (see master_process.hpp).
#include "cli/master_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/unique_fd.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::cli {

Result<std::string> read_proc_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  std::string text;
  char buffer[4096];
  while (text.size() < kMaxProcFileBytes) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read " + path);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

std::optional<pid_t> parse_pid(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty() || text.size() > 9) return std::nullopt;
  pid_t pid = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    pid = pid * 10 + (c - '0');
  }
  if (pid <= 0) return std::nullopt;
  return pid;
}

Result<pid_t> running_master(const std::string& pid_file) {
  auto text = read_proc_file(pid_file);
  if (!text) {
    if (text.error().sys_errno == ENOENT) {
      return Error::temporary("postern-master is not running (no " + pid_file + ")");
    }
    return text.error();
  }
  auto pid = parse_pid(*text);
  // Empty for a moment while master starts (it writes its pid once detached): not running yet.
  if (!pid) {
    return Error::temporary("postern-master is not running (" + pid_file +
                            " holds no process ID: starting, or left damaged)");
  }
  auto cmdline = read_proc_file(fmt::format("/proc/{}/cmdline", *pid));
  std::string_view program = cmdline ? std::string_view(cmdline->c_str()) : std::string_view();
  std::string_view name = program.substr(program.rfind('/') + 1);
  if (name != "postern-master") {
    return Error::temporary(
        fmt::format("postern-master is not running (pid {} in {} is not it)", *pid, pid_file));
  }
  return *pid;
}

Result<pid_t> running_master(const MainConfig& config) {
  const QueueLayout layout{config.get("queue_directory")};
  return running_master(layout.pid_file());
}

Result<pid_t> reload_master(const MainConfig& config) {
  Result<pid_t> master = running_master(config);
  if (!master) return master;
  if (::kill(*master, SIGHUP) != 0) {
    return Error::system(fmt::format("signal postern-master (pid {})", *master));
  }
  return *master;
}

}  // namespace postern::cli
