// Identity switch for postern-local's deliveries (see run_as.hpp).
#include "local/run_as.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "lib/base/unique_fd.hpp"

namespace postern::local {
namespace {

constexpr size_t kMaxChildReplyBytes = 1024;

// In the child: every descriptor but 0-2, the reply pipe and keep_fds is closed.
void close_other_fds(int reply_fd, const std::vector<int>& keep_fds) {
  const int max_fd = static_cast<int>(::sysconf(_SC_OPEN_MAX));
  for (int fd = 3; fd < max_fd && fd < 65536; ++fd) {
    if (fd == reply_fd || std::find(keep_fds.begin(), keep_fds.end(), fd) != keep_fds.end()) {
      continue;
    }
    ::close(fd);
  }
}

// In the child: become uid:gid for good. false when it cannot (then nothing is written).
bool switch_identity(uid_t uid, gid_t gid) {
  if (::geteuid() != 0) return uid == ::getuid();
  if (::setgroups(0, nullptr) != 0) return false;
  if (::setresgid(gid, gid, gid) != 0) return false;
  if (::setresuid(uid, uid, uid) != 0) return false;
  // Root must be gone for good.
  return uid == 0 || (::setuid(0) != 0 && ::geteuid() == uid && ::getegid() == gid);
}

void write_line(int fd, const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

DeliveryOutcome run_as(uid_t uid, gid_t gid, int timeout_seconds, const std::vector<int>& keep_fds,
                       const std::function<DeliveryOutcome()>& work) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return DeliveryOutcome::deferred("4.3.0", std::string("pipe: ") + std::strerror(errno));
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  pid_t child = ::fork();
  if (child < 0) {
    return DeliveryOutcome::deferred("4.3.0", std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    close_other_fds(write_end.get(), keep_fds);
    DeliveryOutcome outcome =
        switch_identity(uid, gid)
            ? work()
            : DeliveryOutcome::deferred("4.3.0", "cannot switch to uid " + std::to_string(uid));
    write_line(write_end.get(), encode_outcome(outcome));
    ::_exit(0);
  }
  write_end.reset();

  std::string reply;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(std::max(1, timeout_seconds));
  bool timed_out = false;
  while (reply.size() < kMaxChildReplyBytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{read_end.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 60000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[256];
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(std::min<size_t>(static_cast<size_t>(n),
                                                                kMaxChildReplyBytes)));
  }
  if (timed_out) ::kill(child, SIGKILL);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return DeliveryOutcome::deferred(
        "4.3.0", "delivery timed out after " + std::to_string(timeout_seconds) + "s");
  }
  if (!WIFEXITED(status)) return DeliveryOutcome::deferred("4.3.0", "delivery process died");
  return decode_outcome(reply);
}

}  // namespace postern::local
