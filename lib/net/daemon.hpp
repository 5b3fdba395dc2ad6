// The skeleton every worker daemon runs on (smtpd, qmgr, delivery; later submission, relay,
// imapd): argument parsing, main.cf + "-o" overrides, logging, the privilege drop, and the
// signals and master watch that start a graceful stop. Each main() reads top to bottom:
//   auto ctx = daemon_init(argc, argv, "smtpd");   // config, log; fatal on error
//   ... open what needs root (TLS key) ...
//   drop_privileges(ctx.config);                    // fatal if it cannot
//   ... event loop, with DaemonStopWatch calling back on SIGTERM or master gone ...
// Trusts the master (argv, inherited descriptors) and the admin's config.
//
// The master starts a worker as
//   $daemon_directory/postern-<command> -c CONFIG_DIR -n SERVICE -t inet|unix [-S]
//       [-o name=value]... [-- extra args from master.cf]
// with, already open:  fd 3 = the service's listening socket (inet or unix), non-blocking;
//                      fd 4 = the worker's end of a SOCK_SEQPACKET socketpair (a pipe works
//                             too) whose other end the master holds: EOF means the master is
//                             gone and the worker must stop; a message carrying a descriptor
//                             is a reopened maillog_file, which the worker puts on its stderr.
//                      fd 2 = with maillog_file, that file (master opened it as root).
// -S: log to stderr (master runs in the foreground, or logs to maillog_file) instead of syslog.
// -m: fd 5 holds the main.cf text master checked (a sealed memfd); it is parsed instead of
//     CONFIG_DIR/main.cf, so a worker (re)started after a reload that master refused runs the
//     configuration master runs, not the broken file on disk. Messages still name main.cf.
// Without master (tests, debugging): -L ADDRESS binds the listener itself, ADDRESS being
// host:port, [v6addr]:port or :port for inet, or a socket path (contains '/') for unix;
// -v turns on debug logging. Words after "--" (or the first word that is not an option) go to
// DaemonContext::args.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/config/main_cf.hpp"

struct event_base;
struct event;

namespace postern {

inline constexpr int kListenFd = 3;
inline constexpr int kMasterWatchFd = 4;
inline constexpr int kMainCfFd = 5;  // with -m only
inline constexpr size_t kMaxMainCfBytes = 16 * 1024 * 1024;

struct DaemonContext {
  std::string program;       // "smtpd"
  std::string service_name;  // master.cf service field, e.g. "127.0.0.1:2525" or "qmgr"
  std::string service_type;  // "inet" or "unix"
  std::string config_dir;
  MainConfig config;
  UniqueFd listen_fd;        // fd 3, or invalid when not started by master (tests may pass -L)
  UniqueFd master_watch_fd;  // fd 4, or invalid
  bool log_to_stderr = false;
  std::vector<std::string> args;
};

// Parses argv and loads main.cf; a usage or config error is one fatal line and exit(1).
DaemonContext daemon_init(int argc, char** argv, std::string_view program);

// When running as root: initgroups, setgid, setuid to mail_owner, and checks that root cannot
// be regained. Fatal when mail_owner is unknown or is root. A no-op when not root.
void drop_privileges(const MainConfig& config);

// Reads a whole main.cf (file or memfd) from fd with pread, at most kMaxMainCfBytes.
Result<std::string> read_main_cf_text(int fd, const std::string& shown_name);

// Listening sockets, bound the way master binds them (also used by the -L option that lets a
// test start a worker without master). Non-blocking, close-on-exec, backlog kListenBacklog.
inline constexpr int kListenBacklog = 511;
// host "" = every address: [::] accepting IPv4 too when inet_protocols allows IPv6 and the
// kernel has it, else 0.0.0.0. A host name is resolved (first address of the allowed family).
// inet_protocols: "all", "ipv4" or "ipv6". SO_REUSEADDR is set.
Result<UniqueFd> listen_inet(const std::string& host, int port, std::string_view inet_protocols);
// Removes a stale socket file at path first, then binds, listens and chmods to mode.
Result<UniqueFd> listen_unix(const std::string& path, unsigned mode);

// Master's side of the reopen: sends fd to a worker on its watch socket (one byte 'L' with the
// descriptor, SCM_RIGHTS), without blocking. Fails when the worker is gone or has let many such
// messages pile up unread. DaemonStopWatch receives it.
Status send_log_file(int watch_socket, int fd);

// Calls on_stop once when SIGTERM or SIGINT arrives or the master watch (fd 4) reports EOF.
// Also takes what master sends on fd 4: a reopened maillog_file becomes stderr (dup2), the old
// file is closed. SIGPIPE and SIGUSR1 (master's reopen signal) are ignored. Owns its libevent
// events.
// StopSignals::kIgnore leaves SIGTERM and SIGINT to someone else (postern-authmilter: libmilter
// takes them on its own signal thread) and watches only the master.
enum class StopSignals { kWatch, kIgnore };

class DaemonStopWatch {
 public:
  DaemonStopWatch(event_base* base, int master_watch_fd, std::function<void()> on_stop,
                  StopSignals signals = StopSignals::kWatch);
  DaemonStopWatch(const DaemonStopWatch&) = delete;
  DaemonStopWatch& operator=(const DaemonStopWatch&) = delete;
  ~DaemonStopWatch();

 private:
  static void on_event(int fd, short what, void* arg);
  void watch_master(event_base* base, int master_watch_fd);
  void fire();
  std::function<void()> on_stop_;
  event* sigterm_ = nullptr;
  event* sigint_ = nullptr;
  event* master_ = nullptr;
  bool fired_ = false;
  bool watch_is_socket_ = false;
};

}  // namespace postern
