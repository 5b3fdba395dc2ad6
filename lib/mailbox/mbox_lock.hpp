// MboxLock: both locks that Debian policy asks for on one mbox file (/var/mail/USER), held
// together by one move-only owner: the dotlock "<path>.lock" (created with O_EXCL, our PID
// inside) and an fcntl write lock on the open mbox. Used by the local delivery agent, which has
// already switched to the recipient's uid and gid mail; this code changes no privileges.
// Trusts the path it is given (the caller built it from the passwd entry). Treats what is in
// the spool folder as hostile only so far as to never follow or write through an existing lock
// file, and to check after locking that the path still names the file that was opened.
// Bounded by timeout_ms (the caller's wait for both locks: tried again after
// kMboxLockFirstPollMs, the pause doubling up to kMboxLockPollMs, never a busy loop) and by
// stale_after_seconds (a dotlock whose mtime is older is removed).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr int kMboxLockFirstPollMs = 2;
inline constexpr int kMboxLockPollMs = 100;
inline constexpr int kMboxDotlockStaleSeconds = 300;

// Errors from MboxLock::acquire are all kTemporary (the caller defers the recipient):
//  - sys_errno == EAGAIN: the mailbox is locked by someone else (dotlock or fcntl) and stayed
//    so until timeout_ms ran out; the message says "mailbox <path> is locked".
//  - any other sys_errno: a lock could not be made at all (EACCES or EROFS creating the dotlock,
//    ENOLCK from fcntl, ...), or the mbox was renamed or removed while we waited (ESTALE).
class MboxLock {
 public:
  // Takes the dotlock for mbox_path, then an F_SETLK write lock on mbox_fd (not owned; open for
  // writing). Keep the descriptor open until the lock is released or destroyed: closing any
  // descriptor of the file in this process drops the fcntl lock, and a closed number may be
  // reused for another file by the time release() unlocks it. Both waits share one deadline,
  // timeout_ms from now (0: one try each). A dotlock with an mtime stale_after_seconds or more
  // in the past is removed and taken over. After both locks, the path must still name the file
  // mbox_fd has open.
  static Result<MboxLock> acquire(const std::string& mbox_path, int mbox_fd, int timeout_ms,
                                  int stale_after_seconds = kMboxDotlockStaleSeconds);

  MboxLock(MboxLock&& other) noexcept;
  MboxLock& operator=(MboxLock&& other) noexcept;
  MboxLock(const MboxLock&) = delete;
  MboxLock& operator=(const MboxLock&) = delete;
  // Releases in reverse order: fcntl unlock, then unlink of the dotlock (only when the file at
  // "<path>.lock" is still the one we created, same inode and our PID inside; one someone else
  // made after breaking ours as stale is left alone).
  ~MboxLock();
  void release();

  bool held() const { return dotlocked_ || fcntl_locked_; }
  // True when acquire() removed a stale dotlock before taking its own.
  bool broke_stale_dotlock() const { return broke_stale_; }
  const std::string& dotlock_path() const { return dotlock_path_; }

 private:
  MboxLock() = default;
  Status take_dotlock(const std::string& mbox_path, int64_t deadline_ms, int stale_after_seconds);
  Status take_fcntl_lock(const std::string& mbox_path, int64_t deadline_ms);
  bool still_our_dotlock() const;
  std::string dotlock_path_;
  int mbox_fd_ = -1;  // not owned
  dev_t dotlock_dev_ = 0;
  ino_t dotlock_ino_ = 0;
  std::string dotlock_content_;  // what we wrote into it: our PID
  bool dotlocked_ = false;
  bool fcntl_locked_ = false;
  bool broke_stale_ = false;
};

}  // namespace postern
