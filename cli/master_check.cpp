// Running `postern-master -t` (see master_check.hpp).
#include "cli/master_check.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "lib/base/unique_fd.hpp"

extern char** environ;

namespace postern::cli {
namespace {

std::string own_directory() {
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return {};
  std::string exe(path, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  return slash == std::string::npos ? std::string() : exe.substr(0, slash);
}

std::string master_program(const MainConfig& config) {
  std::string configured = config.get("daemon_directory") + "/postern-master";
  if (::access(configured.c_str(), X_OK) == 0) return configured;
  std::string beside = own_directory() + "/postern-master";
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  return configured;  // the error names the configured one
}

}  // namespace

std::string absolute_config_dir(const std::string& config_dir) {
  std::string dir = config_dir;
  if (dir.empty() || dir.front() != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) != nullptr) dir = std::string(cwd) + "/" + dir;
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

Result<MasterCheck> run_master_check(const MainConfig& config, const std::string& config_dir) {
  MasterCheck check;
  check.program = master_program(config);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Error::system("pipe");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> args = {check.program, "-c", config_dir, "-t"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, check.program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return Error::system("run " + check.program, spawned);
  write_end.reset();

  char buffer[4096];
  while (true) {
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t room = kMaxCheckOutputBytes - std::min(check.output.size(), kMaxCheckOutputBytes);
    check.output.append(buffer, std::min(room, static_cast<size_t>(n)));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::system("wait for " + check.program);
  }
  if (WIFEXITED(status)) {
    check.exit_status = WEXITSTATUS(status);
  } else {
    check.exit_status = 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  return check;
}

}  // namespace postern::cli
