// maillog_file checks and opening (master/maillog.hpp). Process: master, as root, at start and
// on SIGUSR1. Bounded: the path is checked component by component, once.
#include "master/maillog.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace postern::master {
namespace {

// Absolute, and no empty, "." or ".." component after the root: what a prefix test can trust.
bool clean_absolute_path(std::string_view path) {
  if (path.size() < 2 || path.front() != '/') return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool under_prefix(std::string_view path, std::string_view prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/") return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace

Status check_maillog_file(const MainConfig& config) {
  std::string path = config.get("maillog_file");
  if (path.empty()) return Status::success();
  if (!clean_absolute_path(path)) {
    return Error::config(fmt::format(
        "maillog_file = {}: expected an absolute path without '.', '..' or empty components",
        path));
  }
  std::vector<std::string> prefixes = config.get_list("maillog_file_prefixes");
  for (const std::string& prefix : prefixes) {
    if (under_prefix(path, prefix)) return Status::success();
  }
  return Error::config(fmt::format(
      "maillog_file = {}: not under any of maillog_file_prefixes ({}); add its folder there "
      "if this is meant",
      path, fmt::join(prefixes, ", ")));
}

Result<UniqueFd> open_maillog_file(const std::string& path) {
  if (path == kMaillogStdout) {
    UniqueFd copy(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!copy) return Error::system("maillog_file /dev/stdout: duplicate standard output");
    return copy;
  }
  // O_NONBLOCK: a FIFO with no reader fails (ENXIO) instead of hanging master; it is refused
  // below anyway, and on a regular file the flag means nothing.
  UniqueFd fd(::open(path.c_str(),
                     O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
                     kMaillogCreateMode));
  if (!fd) {
    if (errno == ELOOP) return Error::config("maillog_file " + path + " is a symbolic link");
    return Error::system("open maillog_file " + path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::system("fstat maillog_file " + path);
  if (!S_ISREG(st.st_mode)) {
    return Error::config("maillog_file " + path + " is not a regular file");
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Error::system("fcntl maillog_file " + path);
  }
  return fd;
}

}  // namespace postern::master
