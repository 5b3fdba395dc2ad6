// Envelope building and the postdrop hand-off for sendmail(1) (see maildrop_submit.hpp).
#include "sendmail/maildrop_submit.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "lib/base/ascii.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/smtp/address.hpp"

namespace postern::sendmail {
namespace {

bool is_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

Result<std::string> checked_address(std::string_view raw, std::string_view origin) {
  std::string qualified = qualify_address(raw, origin);
  AddressOptions options;
  options.allow_utf8 = true;
  Result<Address> parsed = parse_mailbox(qualified, options);
  if (!parsed) {
    return Error::parse(fmt::format("<{}>: {}", raw, parsed.error().message));
  }
  return parsed->to_string();
}

}  // namespace

Result<QueueEnvelope> build_local_envelope(const LocalEnvelopeInput& input) {
  QueueEnvelope envelope;
  envelope.queue_id = input.queue_id;
  envelope.arrival_time = input.now;
  bool utf8 = false;
  if (!input.sender.empty()) {
    Result<std::string> sender = checked_address(input.sender, input.origin);
    if (!sender) return sender.error();
    envelope.sender = *sender;
    utf8 = !is_ascii(envelope.sender);
  }
  if (input.recipients.empty()) return Error::parse("no recipients");
  std::set<std::string> seen;
  for (const std::string& raw : input.recipients) {
    Result<std::string> address = checked_address(raw, input.origin);
    if (!address) return address.error();
    if (!seen.insert(ascii_lowercase(*address)).second) continue;
    if (envelope.recipients.size() == kMaxSendmailRecipients) {
      return Error::limit(fmt::format("more than {} recipients", kMaxSendmailRecipients));
    }
    utf8 = utf8 || !is_ascii(*address);
    QueueRecipient recipient;
    recipient.address = *address;
    recipient.orcpt = "rfc822;" + *address;
    recipient.notify = input.notify;
    envelope.recipients.push_back(std::move(recipient));
  }
  if (!input.body_type.empty()) envelope.attributes.emplace_back("body", input.body_type);
  if (!input.ret.empty()) envelope.attributes.emplace_back("dsn_ret", input.ret);
  if (!input.envid.empty()) envelope.attributes.emplace_back("dsn_envid", input.envid);
  if (utf8) envelope.attributes.emplace_back("smtputf8", "yes");
  return envelope;
}

int run_postdrop(const std::string& postdrop_path, const std::string& config_dir,
                 const std::string& image) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::perror("sendmail: pipe");
    return EX_OSERR;
  }
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("sendmail: fork");
    return EX_OSERR;
  }
  if (child == 0) {
    if (::dup2(read_end.get(), STDIN_FILENO) < 0) _exit(EX_OSERR);
    const char* argv[] = {"postern-postdrop", "-c", config_dir.c_str(), nullptr};
    ::execv(postdrop_path.c_str(), const_cast<char* const*>(argv));
    std::fprintf(stderr, "sendmail: cannot run %s: %s\n", postdrop_path.c_str(),
                 std::strerror(errno));
    _exit(EX_TEMPFAIL);
  }
  read_end.reset();
  // A postdrop that refuses early closes the pipe: its exit code says why, not our EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  size_t written = 0;
  while (written < image.size()) {
    ssize_t n = ::write(write_end.get(), image.data() + written, image.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  write_end.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return EX_TEMPFAIL;
  }
  if (!WIFEXITED(status)) {
    std::fprintf(stderr, "sendmail: postdrop was killed (signal %d): the message is not queued\n",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return EX_TEMPFAIL;
  }
  int code = WEXITSTATUS(status);
  // postdrop accepts nothing without its end record, so exit 0 with a short write cannot
  // happen; it is refused all the same.
  if (code == 0 && written != image.size()) return EX_TEMPFAIL;
  return code;
}

}  // namespace postern::sendmail
