// postern-postdrop: the setgid (setgid_group, "postdrop") helper through which sendmail(1), run
// by any local user, puts a message into $queue_directory/maildrop/. Reads a queue-file image on
// stdin and stores it with postdrop/maildrop_writer (durably, or not at all); exit 0 only then.
// Then it nudges pickup through public/pickup (a failure only delays: pickup also scans).
//
// It runs with the caller's real and effective user ID and the postdrop group: everything it
// reads is hostile. It takes no environment variable; "-c DIR" naming another configuration
// than /etc/postern is honoured only for root, for a postdrop that runs without privilege (a
// build tree, run-local), or when DIR is listed in alternate_config_directories of the default
// main.cf, so that nobody points it at a queue of their own choosing with the postdrop group.
// Exit codes: sysexits.h (EX_USAGE, EX_DATAERR for a refused file, EX_NOPERM, EX_CONFIG,
// EX_TEMPFAIL when it could not be stored).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "lib/base/unique_fd.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/queue/queue_dir.hpp"
#include "postdrop/maildrop_writer.hpp"

namespace {

constexpr const char* kDefaultConfigDir = "/etc/postern";

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "postdrop: %s\n", message.c_str());
  return code;
}

bool is_privileged() { return ::getegid() != ::getgid() || ::geteuid() != ::getuid(); }

// May this caller use config_dir? See the header comment.
bool config_dir_allowed(const std::string& config_dir) {
  if (config_dir == kDefaultConfigDir || ::getuid() == 0 || !is_privileged()) return true;
  auto defaults = postern::MainConfig::load(std::string(kDefaultConfigDir) + "/main.cf", nullptr);
  if (!defaults) return false;
  for (const std::string& allowed : defaults->get_list("alternate_config_directories")) {
    if (allowed == config_dir) return true;
  }
  return false;
}

// Wakes pickup; never waits for it.
void nudge_pickup(const postern::QueueLayout& layout) {
  std::string path = layout.public_dir() + "/pickup";
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) return;
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  postern::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return;
  (void)::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
}

}  // namespace

// For the sanitizer build of CI only (an ordinary build never calls it): a set-group-ID process
// is not dumpable, so LeakSanitizer cannot inspect it at exit, reports a fatal error and turns
// a stored message into exit status 1. Its leak check is skipped when postdrop runs setgid;
// run by root or from the build tree (the other tests) it is still checked.
extern "C" int __lsan_is_turned_off() { return ::getegid() != ::getgid() ? 1 : 0; }

int main(int argc, char** argv) {
  using namespace postern;
  ::umask(022);
  std::string config_dir = kDefaultConfigDir;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c" && i + 1 < argc) {
      config_dir = argv[++i];
    } else {
      return fail(EX_USAGE, "usage: postern-postdrop [-c config_dir] < queue-file image");
    }
  }
  if (!config_dir_allowed(config_dir)) {
    return fail(EX_NOPERM, "-c " + config_dir +
                               ": not the default configuration and not listed in "
                               "alternate_config_directories");
  }
  Result<MainConfig> config = MainConfig::load(config_dir + "/main.cf", nullptr);
  if (!config) return fail(EX_CONFIG, config.error().describe());

  const QueueLayout layout{config->get("queue_directory")};
  const uint64_t size_limit = static_cast<uint64_t>(config->get_size("message_size_limit"));
  const uint64_t max_bytes = size_limit == 0 ? 0 : size_limit + postdrop::kMaildropEnvelopeAllowance;
  Result<std::string> stored = postdrop::write_maildrop_file(layout.maildrop(), STDIN_FILENO,
                                                             max_bytes);
  if (!stored) {
    const Error& error = stored.error();
    if (error.kind == ErrorKind::kLimit || error.kind == ErrorKind::kParse) {
      return fail(EX_DATAERR, error.describe());
    }
    if (error.kind == ErrorKind::kSystem && error.sys_errno == EACCES) {
      return fail(EX_NOPERM, error.describe() + " (is postern-postdrop setgid " +
                                 config->get("setgid_group") + "?)");
    }
    return fail(EX_TEMPFAIL, error.describe() + ": the message is not queued");
  }
  nudge_pickup(layout);
  return EX_OK;
}
