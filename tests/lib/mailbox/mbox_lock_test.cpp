// Unit tests for lib/mailbox/mbox_lock.cpp: both locks taken and released (seen from another
// process), waiting for a dotlock or fcntl lock that a forked child holds for ~300 ms, the
// "locked" error when the wait runs out, a stale dotlock broken, someone else's dotlock left
// alone, an mbox replaced while waiting, and a dotlock that cannot be created at all. The only
// timings checked are that a wait really waited (monotonic clock, generous bounds).
#include "lib/mailbox/mbox_lock.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "lib/base/unique_fd.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("mbox_lock_test") {}
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

UniqueFd open_mbox(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0660));
}

int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

// A forked child that takes a lock (take() returns false when it cannot), tells the parent it
// holds it, keeps it until hold_ms have passed or the parent calls let_go(), then runs
// give_back() and exits (which also drops an fcntl lock).
class LockHolder {
 public:
  LockHolder(
      const std::function<bool()>& take, int hold_ms,
      const std::function<void()>& give_back = [] {}) {
    int ready[2];
    int release[2];
    if (::pipe(ready) != 0 || ::pipe(release) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(release[1]);
      if (!take()) ::_exit(2);
      char byte = 'r';
      if (::write(ready[1], &byte, 1) != 1) ::_exit(3);
      pollfd wait_for{release[0], POLLIN, 0};
      ::poll(&wait_for, 1, hold_ms);
      give_back();
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(release[0]);
    release_.reset(release[1]);
    char byte = 0;
    holding_ = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
  }
  ~LockHolder() { let_go(); }
  bool holding() const { return holding_; }
  // Ends the child's hold now; returns its exit status.
  int let_go() {
    release_.reset();
    if (pid_ <= 0) return -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd release_;
  bool holding_ = false;
};

// A child holding the dotlock the way a mail reader does: created with O_EXCL, removed after.
LockHolder hold_dotlock(const std::string& lock_path, int hold_ms) {
  return LockHolder(
      [lock_path] {
        int fd = ::open(lock_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
      },
      hold_ms, [lock_path] { ::unlink(lock_path.c_str()); });
}

std::function<bool()> fcntl_taker(const std::string& mbox_path) {
  return [mbox_path] {
    int fd = ::open(mbox_path.c_str(), O_WRONLY);  // held until the child exits
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fd >= 0 && ::fcntl(fd, F_SETLK, &fl) == 0;
  };
}

TEST(MboxLockTest, HoldsBothLocksAndReleasesThem) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  ASSERT_TRUE(fd);
  {
    auto lock = MboxLock::acquire(path, fd.get(), 1000);
    ASSERT_TRUE(lock.ok()) << lock.error().describe();
    EXPECT_TRUE(lock->held());
    EXPECT_FALSE(lock->broke_stale_dotlock());
    EXPECT_EQ(lock->dotlock_path(), path + ".lock");
    EXPECT_EQ(slurp(path + ".lock"), std::to_string(::getpid()) + "\n");
    // Another process can take neither lock now.
    LockHolder fcntl_child(fcntl_taker(path), 0);
    EXPECT_FALSE(fcntl_child.holding());
    EXPECT_EQ(fcntl_child.let_go(), 2);
    auto again = MboxLock::acquire(path, fd.get(), 0);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().sys_errno, EAGAIN);
    EXPECT_TRUE(exists(path + ".lock"));  // the failed attempt did not remove ours
  }
  EXPECT_FALSE(exists(path + ".lock"));
  LockHolder fcntl_child(fcntl_taker(path), 0);
  EXPECT_TRUE(fcntl_child.holding());
}

TEST(MboxLockTest, MovedLockIsReleasedOnceByItsLastOwner) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  auto lock = MboxLock::acquire(path, fd.get(), 1000);
  ASSERT_TRUE(lock.ok()) << lock.error().describe();
  {
    MboxLock moved = std::move(*lock);
    EXPECT_FALSE(lock->held());
    EXPECT_TRUE(moved.held());
    lock->release();  // the moved-from lock owns nothing
    EXPECT_TRUE(exists(path + ".lock"));
  }
  EXPECT_FALSE(exists(path + ".lock"));
}

TEST(MboxLockTest, WaitsForADotlockAnotherProcessHolds) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  LockHolder child = hold_dotlock(path + ".lock", 300);
  ASSERT_TRUE(child.holding());
  auto started = std::chrono::steady_clock::now();
  auto lock = MboxLock::acquire(path, fd.get(), 2000);
  ASSERT_TRUE(lock.ok()) << lock.error().describe();
  EXPECT_GE(elapsed_ms(started), 250);
  EXPECT_EQ(slurp(path + ".lock"), std::to_string(::getpid()) + "\n");
}

TEST(MboxLockTest, GivesUpWithLockedWhenTheDotlockStays) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  LockHolder child = hold_dotlock(path + ".lock", 5000);
  ASSERT_TRUE(child.holding());
  auto started = std::chrono::steady_clock::now();
  auto lock = MboxLock::acquire(path, fd.get(), 100);
  ASSERT_FALSE(lock.ok());
  EXPECT_GE(elapsed_ms(started), 90);
  EXPECT_EQ(lock.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(lock.error().sys_errno, EAGAIN);
  EXPECT_NE(lock.error().message.find("is locked"), std::string::npos) << lock.error().message;
  EXPECT_TRUE(exists(path + ".lock"));  // the holder's lock is not touched
}

TEST(MboxLockTest, BreaksAStaleDotlockButNotAFreshOne) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  const std::string lock_path = path + ".lock";
  UniqueFd fd = open_mbox(path);
  std::ofstream(lock_path) << "99999\n";
  timeval ten_minutes_ago[2];
  ::gettimeofday(&ten_minutes_ago[0], nullptr);
  ten_minutes_ago[0].tv_sec -= 600;
  ten_minutes_ago[1] = ten_minutes_ago[0];
  ASSERT_EQ(::utimes(lock_path.c_str(), ten_minutes_ago), 0);
  auto lock = MboxLock::acquire(path, fd.get(), 100);
  ASSERT_TRUE(lock.ok()) << lock.error().describe();
  EXPECT_TRUE(lock->broke_stale_dotlock());
  EXPECT_EQ(slurp(lock_path), std::to_string(::getpid()) + "\n");
  lock->release();
  // The same file with a fresh mtime is a lock someone holds.
  std::ofstream(lock_path) << "99999\n";
  auto fresh = MboxLock::acquire(path, fd.get(), 100);
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(fresh.error().sys_errno, EAGAIN);
  EXPECT_EQ(slurp(lock_path), "99999\n");
}

TEST(MboxLockTest, LeavesADotlockThatIsNoLongerOurs) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  const std::string lock_path = path + ".lock";
  UniqueFd fd = open_mbox(path);
  {
    auto lock = MboxLock::acquire(path, fd.get(), 100);
    ASSERT_TRUE(lock.ok()) << lock.error().describe();
    // Someone judged ours stale, removed it and took their own.
    ASSERT_EQ(::unlink(lock_path.c_str()), 0);
    std::ofstream(lock_path) << "4242\n";
  }
  EXPECT_EQ(slurp(lock_path), "4242\n");
}

TEST(MboxLockTest, WaitsForAnFcntlLockAnotherProcessHolds) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  LockHolder child(fcntl_taker(path), 300);
  ASSERT_TRUE(child.holding());
  auto started = std::chrono::steady_clock::now();
  auto lock = MboxLock::acquire(path, fd.get(), 2000);
  ASSERT_TRUE(lock.ok()) << lock.error().describe();
  EXPECT_GE(elapsed_ms(started), 250);
  EXPECT_EQ(child.let_go(), 0);
}

TEST(MboxLockTest, FcntlTimeoutSaysLockedAndDropsTheDotlock) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  LockHolder child(fcntl_taker(path), 5000);
  ASSERT_TRUE(child.holding());
  auto lock = MboxLock::acquire(path, fd.get(), 100);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(lock.error().sys_errno, EAGAIN);
  EXPECT_NE(lock.error().message.find("is locked"), std::string::npos) << lock.error().message;
  EXPECT_FALSE(exists(path + ".lock"));  // the dotlock taken first was given back
}

TEST(MboxLockTest, RefusesAnMboxReplacedWhileWaiting) {
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  ASSERT_EQ(::rename(path.c_str(), (path + ".old").c_str()), 0);
  UniqueFd replacement = open_mbox(path);
  auto lock = MboxLock::acquire(path, fd.get(), 100);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(lock.error().sys_errno, ESTALE);
  EXPECT_FALSE(exists(path + ".lock"));
}

TEST(MboxLockTest, ADotlockThatCannotBeCreatedIsAnError) {
  TempDir dir;
  const std::string not_a_folder = dir.path() + "/file";
  UniqueFd file = open_mbox(not_a_folder);
  auto lock = MboxLock::acquire(not_a_folder + "/user", file.get(), 1000);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(lock.error().sys_errno, ENOTDIR);
}

TEST(MboxLockTest, AFolderWeCannotWriteIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into a read-only folder anyway";
  TempDir dir;
  const std::string path = dir.path() + "/user";
  UniqueFd fd = open_mbox(path);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  auto lock = MboxLock::acquire(path, fd.get(), 1000);
  ::chmod(dir.path().c_str(), 0700);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(lock.error().sys_errno, EACCES);
}

}  // namespace
}  // namespace postern
