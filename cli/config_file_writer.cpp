// Atomic replacement of a configuration file (see config_file_writer.hpp).
#include "cli/config_file_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "lib/base/file_read.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::cli {
namespace {

Status write_all(int fd, std::string_view text, const std::string& path) {
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("write " + path);
    written += static_cast<size_t>(n);
  }
  return Status::success();
}

// Removes the temporary file unless it was renamed into place.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void keep() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

std::string folder_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<UniqueFd> lock_config_directory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("open " + dir);
  constexpr int kStepMs = 50;
  for (int waited = 0;; waited += kStepMs) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
    if (errno != EWOULDBLOCK && errno != EINTR) return Error::system("lock " + dir);
    if (waited >= kConfigLockWaitMs) {
      return Error::temporary(
          fmt::format("another postern command has been changing {} for {} s", dir,
                      kConfigLockWaitMs / 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kStepMs));
  }
}

Result<std::string> read_config_file(const std::string& path, size_t max_bytes) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error::not_found(path + " does not exist");
    return Error::system("stat " + path);
  }
  return read_small_file(path, max_bytes);
}

Result<WriteOutcome> replace_file(const std::string& path, std::string_view text,
                                  const NewFileMode& new_file, const TemporaryFileCheck& check) {
  struct stat old {};
  bool exists = true;
  if (::lstat(path.c_str(), &old) != 0) {
    if (errno != ENOENT) return Error::system("stat " + path);
    exists = false;
  } else if (!S_ISREG(old.st_mode)) {
    // A symbolic link would be replaced by a file (or, followed, write elsewhere): refuse.
    return Error::config(path + " is not a regular file (a symbolic link?): not replaced");
  }
  mode_t mode = exists && !new_file.force_mode ? (old.st_mode & 07777) : new_file.mode;
  uid_t uid = exists && !new_file.force_mode ? old.st_uid : new_file.uid;
  gid_t gid = exists && !new_file.force_mode ? old.st_gid : new_file.gid;
  if (exists) {
    bool same_owner = (uid == static_cast<uid_t>(-1) || uid == old.st_uid) &&
                      (gid == static_cast<gid_t>(-1) || gid == old.st_gid);
    if (same_owner && (old.st_mode & 07777) == mode &&
        static_cast<size_t>(old.st_size) == text.size()) {
      Result<std::string> current = read_small_file(path, text.size());
      if (current && *current == text) return WriteOutcome::kUnchanged;
    }
  }

  const std::string folder = folder_of(path);
  std::random_device random;
  std::string temporary;
  UniqueFd fd;
  for (int attempt = 0; attempt < 10 && !fd; ++attempt) {
    temporary = fmt::format("{}.postern-tmp.{}.{:08x}", path, ::getpid(), random());
    fd.reset(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd && errno != EEXIST) return Error::system("create " + temporary);
  }
  if (!fd) return Error::system("create a temporary file beside " + path);
  TemporaryFile guard(temporary);
  if (Status written = write_all(fd.get(), text, temporary); !written) return written.error();
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      ::fchown(fd.get(), uid, gid) != 0) {
    return Error::system("chown " + temporary);
  }
  if (::fchmod(fd.get(), mode) != 0) return Error::system("chmod " + temporary);
  if (::fsync(fd.get()) != 0) return Error::system("fsync " + temporary);
  fd.reset();
  if (check) {
    if (Status checked = check(temporary); !checked) return checked.error();
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return Error::system(fmt::format("rename {} to {}", temporary, path));
  }
  guard.keep();
  if (Status synced = fsync_directory(folder); !synced) return synced.error();
  return exists ? WriteOutcome::kReplaced : WriteOutcome::kCreated;
}

}  // namespace postern::cli
