// MboxLock: dotlock then fcntl lock on one mbox, for the local delivery agent running as the
// recipient. Never follows an existing lock file (O_CREAT|O_EXCL), never waits without a
// deadline (polls every kMboxLockPollMs until timeout_ms), removes a dotlock only when it is
// stale by mtime or is the very file we created.
#include "lib/mailbox/mbox_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "lib/base/unique_fd.hpp"

namespace postern {
namespace {

constexpr mode_t kDotlockMode = 0600;

int64_t monotonic_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// Sleeps pause_ms (then doubles it, up to kMboxLockPollMs), or until the deadline when that
// comes first. False when the deadline has already passed (the caller gives up). Starting short
// matters: deliveries to one busy mailbox (a bulk of cron mail to root) take turns on the lock
// every few milliseconds, and a first wait of 100 ms made each turn cost that much.
bool wait_before_retry(int64_t deadline_ms, int64_t& pause_ms) {
  int64_t left = deadline_ms - monotonic_ms();
  if (left <= 0) return false;
  int64_t ms = std::min<int64_t>(left, pause_ms);
  pause_ms = std::min<int64_t>(pause_ms * 2, kMboxLockPollMs);
  timespec pause{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  while (::nanosleep(&pause, &pause) != 0 && errno == EINTR) {
  }
  return true;
}

Error temporary(std::string what, int err) {
  if (err != 0) {
    what += ": ";
    what += std::strerror(err);
  }
  return Error{ErrorKind::kTemporary, std::move(what), err};
}

Error locked(const std::string& mbox_path, const std::string& by) {
  return Error{ErrorKind::kTemporary, "mailbox " + mbox_path + " is locked (" + by + ")", EAGAIN};
}

}  // namespace

Result<MboxLock> MboxLock::acquire(const std::string& mbox_path, int mbox_fd, int timeout_ms,
                                   int stale_after_seconds) {
  const int64_t deadline_ms = monotonic_ms() + std::max(timeout_ms, 0);
  MboxLock lock;
  lock.mbox_fd_ = mbox_fd;
  lock.dotlock_path_ = mbox_path + ".lock";
  // On any failure below, lock's destructor releases whatever was already taken.
  if (Status s = lock.take_dotlock(mbox_path, deadline_ms, stale_after_seconds); !s) {
    return s.error();
  }
  if (Status s = lock.take_fcntl_lock(mbox_path, deadline_ms); !s) return s.error();
  // While we waited, a mail reader may have renamed or removed the mbox and made a new one; what
  // we append to must be the file that the path names now.
  struct stat by_fd {};
  struct stat by_path {};
  if (::fstat(mbox_fd, &by_fd) != 0) return temporary("fstat " + mbox_path, errno);
  if (::lstat(mbox_path.c_str(), &by_path) != 0 || by_path.st_dev != by_fd.st_dev ||
      by_path.st_ino != by_fd.st_ino) {
    return temporary("mailbox " + mbox_path + " was replaced while waiting for its lock", ESTALE);
  }
  return lock;
}

Status MboxLock::take_dotlock(const std::string& mbox_path, int64_t deadline_ms,
                              int stale_after_seconds) {
  const char* path = dotlock_path_.c_str();
  int64_t pause_ms = kMboxLockFirstPollMs;
  for (;;) {
    UniqueFd fd(::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kDotlockMode));
    if (fd) {
      struct stat st {};
      if (::fstat(fd.get(), &st) != 0) {
        int err = errno;
        ::unlink(path);
        return temporary("fstat " + dotlock_path_, err);
      }
      dotlock_dev_ = st.st_dev;
      dotlock_ino_ = st.st_ino;
      dotlocked_ = true;
      // The PID is for people and tools looking at the spool, and tells our lock from one that
      // reuses its inode number at release; staleness goes by mtime only, so a failed write
      // (disk full) leaves a lock that still works.
      std::string pid = std::to_string(::getpid()) + "\n";
      ssize_t written = ::write(fd.get(), pid.data(), pid.size());
      dotlock_content_ = pid.substr(0, written > 0 ? static_cast<size_t>(written) : 0);
      return Status::success();
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EEXIST) return temporary("cannot create dotlock " + dotlock_path_, err);

    struct stat st {};
    if (::lstat(path, &st) != 0) {
      if (errno == ENOENT) continue;  // released between our open and lstat: try again now
      return temporary("stat " + dotlock_path_, errno);
    }
    if (::time(nullptr) - st.st_mtime >= stale_after_seconds) {
      // Look once more just before the unlink, so that a lock another deliverer has just put in
      // place of the stale one is not removed (the window left is the one every dotlock has; the
      // fcntl lock taken next still keeps two writers apart).
      struct stat again {};
      if (::lstat(path, &again) == 0 && again.st_ino == st.st_ino && again.st_dev == st.st_dev &&
          again.st_mtime == st.st_mtime) {
        if (::unlink(path) != 0 && errno != ENOENT) {
          return temporary("cannot remove stale dotlock " + dotlock_path_, errno);
        }
        broke_stale_ = true;
      }
      // Straight back to the open; the deadline still holds should stale locks keep appearing.
      if (monotonic_ms() > deadline_ms) return locked(mbox_path, "dotlock " + dotlock_path_);
      continue;
    }
    if (!wait_before_retry(deadline_ms, pause_ms)) return locked(mbox_path, "dotlock " + dotlock_path_);
  }
}

Status MboxLock::take_fcntl_lock(const std::string& mbox_path, int64_t deadline_ms) {
  int64_t pause_ms = kMboxLockFirstPollMs;
  for (;;) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 0;  // the whole file, however far it grows
    if (::fcntl(mbox_fd_, F_SETLK, &fl) == 0) {
      fcntl_locked_ = true;
      return Status::success();
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EACCES && err != EAGAIN) return temporary("fcntl lock " + mbox_path, err);
    if (!wait_before_retry(deadline_ms, pause_ms)) return locked(mbox_path, "fcntl lock");
  }
}

MboxLock::MboxLock(MboxLock&& other) noexcept
    : dotlock_path_(std::move(other.dotlock_path_)),
      mbox_fd_(std::exchange(other.mbox_fd_, -1)),
      dotlock_dev_(other.dotlock_dev_),
      dotlock_ino_(other.dotlock_ino_),
      dotlock_content_(std::move(other.dotlock_content_)),
      dotlocked_(std::exchange(other.dotlocked_, false)),
      fcntl_locked_(std::exchange(other.fcntl_locked_, false)),
      broke_stale_(other.broke_stale_) {}

MboxLock& MboxLock::operator=(MboxLock&& other) noexcept {
  if (this != &other) {
    release();
    dotlock_path_ = std::move(other.dotlock_path_);
    mbox_fd_ = std::exchange(other.mbox_fd_, -1);
    dotlock_dev_ = other.dotlock_dev_;
    dotlock_ino_ = other.dotlock_ino_;
    dotlock_content_ = std::move(other.dotlock_content_);
    dotlocked_ = std::exchange(other.dotlocked_, false);
    fcntl_locked_ = std::exchange(other.fcntl_locked_, false);
    broke_stale_ = other.broke_stale_;
  }
  return *this;
}

MboxLock::~MboxLock() {
  release();
}

void MboxLock::release() {
  if (fcntl_locked_) {
    struct flock fl {};
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    ::fcntl(mbox_fd_, F_SETLK, &fl);
    fcntl_locked_ = false;
  }
  if (dotlocked_) {
    if (still_our_dotlock()) ::unlink(dotlock_path_.c_str());
    dotlocked_ = false;
  }
}

// Same inode and our PID inside: a file that another deliverer made after breaking ours as
// stale can have the inode number ours had, but not our content (PIDs differ while both live).
bool MboxLock::still_our_dotlock() const {
  UniqueFd fd(::open(dotlock_path_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) return false;
  if (st.st_dev != dotlock_dev_ || st.st_ino != dotlock_ino_) return false;
  char content[32];
  ssize_t n = ::read(fd.get(), content, sizeof content);
  return n >= 0 && std::string_view(content, static_cast<size_t>(n)) == dotlock_content_;
}

}  // namespace postern
