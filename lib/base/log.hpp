// Logging for every process: one line per event, to syslog or (in the foreground) to stderr.
// Lines about a message start with its queue ID ("NOQUEUE" before there is one), then
// Postfix-shaped key=value fields. Text a peer sent must go through printable() first.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace postern::log {

enum class Level { kDebug, kInfo, kWarning, kError, kFatal };

// program_name is the Postfix-style "postern/smtpd" tag. to_stderr: foreground mode.
void init(std::string_view program_name, bool to_stderr);
void set_debug(bool enabled);

void write(Level level, std::string_view text);

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
