// "|command" delivery of postern-local (see command_delivery.hpp).
#include "local/command_delivery.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "lib/base/log.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/mailbox/maildir.hpp"
#include "lib/mailbox/mbox_writer.hpp"

namespace postern::local {
namespace {

constexpr int kExitTempFail = 75;

// The whole input: the From_ line and the two headers, then the message with LF line ends.
// Built in memory: a message is at most message_size_limit.
Result<std::string> command_input(const MessageCopy& copy) {
  std::string input = mbox_from_line(copy.sender, static_cast<time_t>(copy.arrival_time));
  input += delivery_header_lines(copy);
  CrlfToLf converter;
  Status read = copy.file->for_each_message_chunk([&](std::string_view chunk) {
    converter.feed(chunk, input);
    return Status::success();
  });
  if (!read) return read.error();
  converter.finish(input);
  return input;
}

std::vector<std::string> command_environment(const CommandContext& c, const MessageCopy& copy) {
  return {"HOME=" + c.home,           "USER=" + c.user,           "LOGNAME=" + c.user,
          "SHELL=" + c.shell,         "PATH=/usr/bin:/bin",       "SENDER=" + copy.sender,
          "RECIPIENT=" + c.recipient, "LOCAL=" + c.local_part,    "DOMAIN=" + c.domain,
          "EXTENSION=" + c.extension};
}

}  // namespace

DeliveryOutcome run_delivery_command(const MessageCopy& copy, const std::string& command,
                                     const CommandContext& context, int time_limit_seconds) {
  Result<std::string> input = command_input(copy);
  if (!input) return DeliveryOutcome::deferred("4.3.0", input.error().describe());
  int in_fds[2], out_fds[2];
  if (::pipe2(in_fds, O_CLOEXEC) != 0) return DeliveryOutcome::deferred("4.3.0", "pipe failed");
  UniqueFd in_read(in_fds[0]), in_write(in_fds[1]);
  if (::pipe2(out_fds, O_CLOEXEC) != 0) return DeliveryOutcome::deferred("4.3.0", "pipe failed");
  UniqueFd out_read(out_fds[0]), out_write(out_fds[1]);

  std::vector<std::string> env = command_environment(context, copy);
  std::vector<char*> envp;
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return DeliveryOutcome::deferred("4.3.0", "fork failed");
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::setsid();
    ::dup2(in_read.get(), 0);
    ::dup2(out_write.get(), 1);
    ::dup2(out_write.get(), 2);
    if (::chdir(context.home.c_str()) != 0) (void)::chdir("/");
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
    ::_exit(kExitTempFail);
  }
  in_read.reset();
  out_write.reset();
  // A command may exit without reading all of its input: the write then fails with EPIPE and
  // its exit status decides, instead of SIGPIPE killing this (run_as) process.
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);

  std::string output;
  size_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(time_limit_seconds);
  bool timed_out = false;
  while (out_read) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
    int count = in_write ? 2 : 1;
    int ready = ::poll(fds, count, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(in_write.get(), input->data() + written, input->size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) in_write.reset();  // it stopped reading
      if (written == input->size()) in_write.reset();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[4096];
      ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
      if (n > 0) {
        output.append(buffer, std::min<size_t>(static_cast<size_t>(n),
                                               kMaxCommandOutputBytes - std::min(
                                                   output.size(), kMaxCommandOutputBytes)));
      } else if (n == 0 || errno != EINTR) {
        out_read.reset();
      }
    }
  }
  in_write.reset();
  int status = 0;
  // The command may close its output and go on running: the time limit holds until it exits.
  bool reaped = false;
  while (!timed_out && !reaped) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) {
      reaped = true;
    } else if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
    } else {
      ::usleep(10 * 1000);
    }
  }
  if (timed_out) ::kill(-pid, SIGKILL);
  while (!reaped && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string shown = log::printable(output, 200);
  if (timed_out) {
    return DeliveryOutcome::deferred(
        "4.3.0", fmt::format("command timed out after {}s: {}", time_limit_seconds, command));
  }
  if (WIFSIGNALED(status)) {
    return DeliveryOutcome::deferred(
        "4.3.0", fmt::format("command died with signal {}: {}", WTERMSIG(status), shown));
  }
  int code = WEXITSTATUS(status);
  if (code == 0) return DeliveryOutcome::sent("delivered to command: " + command);
  if (code == kExitTempFail) {
    return DeliveryOutcome::deferred("4.3.0",
                                     fmt::format("command failed temporarily: {}", shown));
  }
  return DeliveryOutcome::bounced("5.3.0",
                                  fmt::format("command died with status {}: {}", code, shown));
}

}  // namespace postern::local
