// Message files and the per-folder files of imapd's Maildirs (see maildir_files.hpp).
#include "imapd/maildir_files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "imapd/mail_store_internal.hpp"
#include "imapd/maildir_names.hpp"
#include "lib/mailbox/maildir.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::imapd {
namespace {

constexpr size_t kMaxUidsFileBytes = 256;
constexpr size_t kReadChunkBytes = 64 * 1024;

std::atomic<uint64_t> g_name_counter{0};

const std::string& host_name() {
  static const std::string host = [] {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof(buffer) - 1) != 0) return std::string("localhost");
    return std::string(buffer);
  }();
  return host;
}

}  // namespace

std::string_view file_name_of(std::string_view file) {
  size_t slash = file.rfind('/');
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

std::string record_base(const MessageRecord& record) {
  return std::string(split_maildir_name(file_name_of(record.file)).base);
}

bool in_new(const MessageRecord& record) {
  return record.file.rfind("new/", 0) == 0;
}

int32_t zone_minutes_at(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) return 0;
  return static_cast<int32_t>(tm.tm_gmtoff / 60);
}

std::string new_unique_name() {
  struct timeval now {};
  gettimeofday(&now, nullptr);
  return maildir_unique_name(now.tv_sec, now.tv_usec, getpid(), g_name_counter++, host_name());
}

int64_t timespec_nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

Result<CountedFile> count_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISREG(st.st_mode)) return Error{ErrorKind::kPermanent, path + ": not a file", 0};
  CountedFile out;
  out.mtime = st.st_mtim.tv_sec;
  static std::string buffer(kReadChunkBytes, '\0');  // one event loop thread: reused
  char previous = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read " + path);
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    out.crlf_size += chunk.size();
    for (size_t pos = chunk.find('\n'); pos != std::string_view::npos;
         pos = chunk.find('\n', pos + 1)) {
      char before = pos > 0 ? chunk[pos - 1] : previous;
      if (before != '\r') ++out.crlf_size;
    }
    previous = chunk.back();
  }
  return out;
}

Result<std::string> read_whole(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISREG(st.st_mode)) return Error{ErrorKind::kPermanent, path + ": not a file", 0};
  if (static_cast<uint64_t>(st.st_size) > kMaxMessageFileBytes) {
    return store_error(ErrorKind::kLimit, "LIMIT", "message file too large");
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size) + 1);
  static std::string buffer(kReadChunkBytes, '\0');  // one event loop thread: reused
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read " + path);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxMessageFileBytes) {
      return store_error(ErrorKind::kLimit, "LIMIT", "message file too large");
    }
    out.append(buffer.data(), static_cast<size_t>(n));
  }
  return out;
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("write " + path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::success();
}

Result<std::string> write_tmp_file(const std::string& folder, std::string_view bytes,
                                   int64_t mtime_seconds) {
  std::string tmp = folder + "/tmp/" + new_unique_name();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
  if (!fd) return Error::system("create " + tmp);
  Status written = write_all(fd.get(), bytes, tmp);
  struct timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
  if (written && futimens(fd.get(), times) != 0) written = Error::system("futimens " + tmp);
  if (written && fsync(fd.get()) != 0) written = Error::system("fsync " + tmp);
  if (!written) {
    ::unlink(tmp.c_str());
    return written.error();
  }
  return tmp;
}

Result<uint32_t> next_uidvalidity(const std::string& folder) {
  size_t slash = folder.rfind('/');
  bool is_subfolder =
      slash != std::string::npos && slash + 1 < folder.size() && folder[slash + 1] == '.';
  std::string root = is_subfolder ? folder.substr(0, slash) : folder;
  std::string path = root + "/postern-uidvalidity";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode));
  if (!fd) return Error::system("open " + path);
  if (::flock(fd.get(), LOCK_EX) != 0) return Error::system("flock " + path);
  char buffer[32] = {};
  ssize_t n = ::pread(fd.get(), buffer, sizeof(buffer) - 1, 0);
  if (n < 0) return Error::system("read " + path);
  unsigned long long last = std::strtoull(buffer, nullptr, 10);
  uint64_t now = static_cast<uint64_t>(std::max<int64_t>(time(nullptr), 1));
  uint64_t next = std::max<uint64_t>(now, last + 1);
  if (next > UINT32_MAX) next = UINT32_MAX;  // not before 2106
  std::string text = std::to_string(next) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0) {
    return Error::system("write " + path);
  }
  return static_cast<uint32_t>(next);
}

Result<UidsFile> read_uids_file(const std::string& folder) {
  std::string path = folder + "/" + kUidsFileName;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  char buffer[kMaxUidsFileBytes + 1];
  ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
  if (n < 0) return Error::system("read " + path);
  if (static_cast<size_t>(n) > kMaxUidsFileBytes) return Error::parse(path + ": too long");
  unsigned long long uidvalidity = 0, reserved = 0;
  std::string text(buffer, static_cast<size_t>(n));
  if (sscanf(text.c_str(), "uidvalidity %llu\nreserved %llu\n", &uidvalidity, &reserved) != 2 ||
      uidvalidity == 0 || uidvalidity > UINT32_MAX || reserved == 0 || reserved > UINT32_MAX) {
    return Error::parse(path + ": malformed");
  }
  return UidsFile{static_cast<uint32_t>(uidvalidity), reserved};
}

Status write_uids_file(const std::string& folder, const UidsFile& uids) {
  std::string text = "uidvalidity " + std::to_string(uids.uidvalidity) + "\nreserved " +
                     std::to_string(uids.reserved) + "\n";
  return replace_file(folder, kUidsFileName, text);
}

Status replace_file(const std::string& folder, std::string_view name, std::string_view text) {
  std::string path = folder + "/" + std::string(name);
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode));
    if (!fd) return Error::system("create " + tmp);
    if (Status s = write_all(fd.get(), text, tmp); !s) return s;
    if (fsync(fd.get()) != 0) return Error::system("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::system("rename " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  return fsync_dir(folder);
}

}  // namespace postern::imapd
