// The master pid file and its lock (master/pid_file.hpp). Process: master. Reads back at most
// kMaxPidText bytes of a pid file another master wrote, only to name that pid in the error.
#include "master/pid_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace postern::master {
namespace {

constexpr size_t kMaxPidText = 32;

std::string read_pid_text(int fd) {
  char buffer[kMaxPidText + 1];
  ssize_t n = ::pread(fd, buffer, kMaxPidText, 0);
  if (n <= 0) return "unknown";
  std::string text;
  ssize_t i = 0;
  while (i < n && buffer[i] == ' ') ++i;
  for (; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) text += buffer[i];
  return text.empty() ? "unknown" : text;
}

}  // namespace

Result<PidFile> PidFile::lock(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return Error::system("open " + path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error{ErrorKind::kTemporary,
                   fmt::format("master already running (pid {}): {} is locked",
                               read_pid_text(fd.get()), path),
                   0};
    }
    return Error::system("flock " + path);
  }
  return PidFile(path, std::move(fd));
}

PidFile::PidFile(PidFile&& other) noexcept
    : path_(std::exchange(other.path_, std::string())), fd_(std::move(other.fd_)) {}

PidFile& PidFile::operator=(PidFile&& other) noexcept {
  if (this != &other) {
    path_ = std::exchange(other.path_, std::string());
    fd_ = std::move(other.fd_);
  }
  return *this;
}

PidFile::~PidFile() {
  if (fd_.valid() && !path_.empty()) ::unlink(path_.c_str());
}

Status PidFile::write_pid(pid_t pid) {
  std::string text = fmt::format("{:>10}\n", pid);  // Postfix's fixed-width form
  if (::ftruncate(fd_.get(), 0) != 0) return Error::system("truncate " + path_);
  if (::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Error::system("write " + path_);
  }
  return Status::success();
}

}  // namespace postern::master
