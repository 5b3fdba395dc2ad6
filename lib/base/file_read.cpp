// read_small_file (see file_read.hpp).
#include "lib/base/file_read.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/unique_fd.hpp"

namespace postern {

Result<std::string> read_small_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISREG(st.st_mode)) return Error::config(path + ": not a regular file");
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("read " + path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      return Error::limit(fmt::format("{}: file is larger than {} bytes", path, max_bytes));
    }
  }
  return text;
}

}  // namespace postern
