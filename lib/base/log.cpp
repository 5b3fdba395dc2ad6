// Logging implementation: syslog(3), or stderr in the syslog file shape (log.hpp) with one
// write(2) per line, so that lines from several processes sharing stderr (a terminal, the
// harness's master.log, a maillog_file opened O_APPEND) never interleave.
#include "lib/base/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <string>

namespace postern::log {
namespace {

std::string g_program = "postern";
std::string g_host;  // set_host_name(), or gethostname()'s first label at the first line
bool g_to_stderr = true;
bool g_debug = false;

const char* level_prefix(Level level) {
  switch (level) {
    case Level::kWarning: return "warning: ";
    case Level::kError: return "error: ";
    case Level::kFatal: return "fatal: ";
    case Level::kDebug: return "debug: ";
    case Level::kInfo: return "";
  }
  return "";
}

int syslog_priority(Level level) {
  switch (level) {
    case Level::kDebug: return LOG_DEBUG;
    case Level::kInfo: return LOG_INFO;
    case Level::kWarning: return LOG_WARNING;
    case Level::kError: return LOG_ERR;
    case Level::kFatal: return LOG_CRIT;
  }
  return LOG_INFO;
}

bool usable_host_field(std::string_view label) {
  if (label.empty()) return false;
  for (char c : label) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) return false;
  }
  return true;
}

// What rsyslog writes for this machine: gethostname()'s first label ("localhost" if none).
const std::string& host_field() {
  if (g_host.empty()) {
    char buffer[256] = {};
    std::string label;
    if (::gethostname(buffer, sizeof buffer - 1) == 0) label = first_label(buffer);
    g_host = usable_host_field(label) ? label : "localhost";
  }
  return g_host;
}

}  // namespace

void init(std::string_view program_name, bool to_stderr) {
  g_program = std::string(program_name);
  g_to_stderr = to_stderr;
  if (!to_stderr) openlog(g_program.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
  if (const char* env = std::getenv("POSTERN_DEBUG"); env && *env == '1') g_debug = true;
}

void set_host_name(std::string_view host_name) {
  std::string label = first_label(host_name);
  if (usable_host_field(label)) g_host = std::move(label);
}

void set_debug(bool enabled) { g_debug = enabled; }

std::string first_label(std::string_view name) {
  return std::string(name.substr(0, name.find('.')));
}

std::string format_line(const std::tm& local_time, std::string_view host, std::string_view program,
                        long pid, Level level, std::string_view text) {
  char stamp[32];
  size_t stamp_size = std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &local_time);
  std::string line = fmt::format("{} {} {}[{}]: {}{}\n", std::string_view(stamp, stamp_size), host,
                                 program, pid, level_prefix(level), text);
  if (line.size() > kMaxLineBytes) {
    line.resize(kMaxLineBytes - 4);
    line += "...\n";
  }
  return line;
}

void write_as(std::string_view role, Level level, std::string_view text) {
  const std::string saved = g_program;
  g_program = "postern/" + std::string(role);
  if (!g_to_stderr) openlog(g_program.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
  write(level, text);
  g_program = saved;
  if (!g_to_stderr) openlog(g_program.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void write(Level level, std::string_view text) {
  if (level == Level::kDebug && !g_debug) return;
  if (!g_to_stderr) {
    syslog(syslog_priority(level), "%s%.*s", level_prefix(level), static_cast<int>(text.size()),
           text.data());
    return;
  }
  std::time_t now = std::time(nullptr);
  std::tm tm_now{};
  localtime_r(&now, &tm_now);
  std::string line =
      format_line(tm_now, host_field(), g_program, static_cast<long>(::getpid()), level, text);
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void panic(std::string_view text) {
  write(Level::kFatal, fmt::format("panic: {}", text));
  std::abort();
}

std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  size_t n = text.size() < max_bytes ? text.size() : max_bytes;
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    out.push_back((c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?');
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace postern::log
