// Logging for every process: one line per event, to syslog or to stderr. Lines about a message
// start with its queue ID ("NOQUEUE" before there is one), then Postfix-shaped key=value fields.
// Text a peer sent must go through printable() first.
//
// On stderr (master -f, its workers with -S, and with maillog_file, where master has put the
// log file on every process's stderr) a line has the shape rsyslog writes to /var/log/mail.log,
// so pflogsumm, fail2ban and logwatch read it as they read syslog's file:
//   Dec  7 05:24:04 mx postern/smtpd[123]: NOQUEUE: reject: RCPT from ...
// The host field is the first label of the host name: myhostname once the configuration is read
// (set_host_name), gethostname() before that. Postfix's own maillog_file writes the same field.
#pragma once

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

namespace postern::log {

enum class Level { kDebug, kInfo, kWarning, kError, kFatal };

// A line on stderr is cut to this many bytes (newline included, "..." marking the cut), so one
// write(2) of it is atomic on a pipe too (PIPE_BUF: a container's stdout) and never interleaves.
inline constexpr size_t kMaxLineBytes = 4096;

// program_name is the Postfix-style "postern/smtpd" tag. to_stderr: the stderr form above,
// else syslog(3) (facility mail), which adds time, host and tag itself.
void init(std::string_view program_name, bool to_stderr);
// The host field of stderr lines: the first label of host_name (myhostname). A name that is
// empty or has a space or control character is ignored (the field stays as it was).
void set_host_name(std::string_view host_name);
void set_debug(bool enabled);

void write(Level level, std::string_view text);
// The same under another program's tag, "postern/<role>" (the process ID stays ours): the lines
// Postfix writes from a process we do not have, such as cleanup's milter-reject, which pflogsumm
// only counts under that name.
void write_as(std::string_view role, Level level, std::string_view text);

// The stderr form of one line, newline included: "Mmm dd hh:mm:ss HOST PROGRAM[PID]: LEVEL: TEXT"
// (no "LEVEL: " for info), local time, the day space-padded as syslog writes it, cut to
// kMaxLineBytes. What write() sends to stderr; public for the tests.
std::string format_line(const std::tm& local_time, std::string_view host, std::string_view program,
                        long pid, Level level, std::string_view text);
// "mx.example.org" -> "mx"; "" when name is empty or starts with '.'.
std::string first_label(std::string_view name);

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warning(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
// Logs one fatal line and exits with status 1: for a daemon that cannot work safely.
template <class... Args>
[[noreturn]] void fatal(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kFatal, fmt::format(f, std::forward<Args>(args)...));
  std::exit(1);
}
// A broken invariant of ours: log and abort (core dump).
[[noreturn]] void panic(std::string_view text);

// Peer text made safe to log: non-printable bytes become '?', cut to max_bytes with "...".
std::string printable(std::string_view text, size_t max_bytes = 100);

}  // namespace postern::log
