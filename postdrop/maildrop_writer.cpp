// maildrop/ writer of postern-postdrop (see maildrop_writer.hpp).
#include "postdrop/maildrop_writer.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/unique_fd.hpp"
#include "lib/queue/queue_dir.hpp"  // new_queue_id
#include "lib/queue/queue_file.hpp"

namespace postern::postdrop {
namespace {

constexpr size_t kCopyBufferBytes = 64 * 1024;
constexpr mode_t kMaildropFileMode = 0644;

// Removes the temporary file unless released.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  ~TemporaryFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

Status write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("write " + path);
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::success();
}

// Makes the rename durable. maildrop/ is mode 1730: the postdrop group may not open it for
// reading, which fsync of a directory needs; then the whole file system is synced instead
// (syncfs through the file's descriptor), which covers the rename too.
Status sync_rename(const std::string& dir, int file_fd) {
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) {
    if (errno != EACCES) return Error::system("open " + dir);
    if (::syncfs(file_fd) != 0) return Error::system("syncfs " + dir);
    return Status::success();
  }
  if (::fsync(dir_fd.get()) != 0) return Error::system("fsync " + dir);
  return Status::success();
}

}  // namespace

Result<std::string> write_maildrop_file(const std::string& maildrop_dir, int input_fd,
                                        uint64_t max_bytes) {
  const std::string name = new_queue_id();
  const std::string tmp_path = maildrop_dir + "/." + name + ".tmp";
  UniqueFd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     kMaildropFileMode));
  if (!fd) return Error::system("create " + tmp_path);
  TemporaryFile cleanup(tmp_path);
  if (::fchmod(fd.get(), kMaildropFileMode) != 0) return Error::system("fchmod " + tmp_path);

  char buffer[kCopyBufferBytes];
  uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(input_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read the message");
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (max_bytes != 0 && total > max_bytes) {
      return Error::limit("message file too big (message_size_limit)");
    }
    if (Status st = write_all(fd.get(), buffer, static_cast<size_t>(n), tmp_path); !st) {
      return st.error();
    }
  }
  // The one queue-file reader decides whether this is a whole, well-formed file.
  Result<QueueFile> check = QueueFile::open(tmp_path, false);
  if (!check) return Error::parse("not a complete queue file: " + check.error().message);
  if (::fsync(fd.get()) != 0) return Error::system("fsync " + tmp_path);
  const std::string final_path = maildrop_dir + "/" + name;
  if (::renameat2(AT_FDCWD, tmp_path.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) !=
      0) {
    return Error::system("rename " + tmp_path);
  }
  cleanup.release();
  if (Status st = sync_rename(maildrop_dir, fd.get()); !st) {
    ::unlink(final_path.c_str());  // not durable: the caller must not hear "queued"
    return st.error();
  }
  return name;
}

}  // namespace postern::postdrop
