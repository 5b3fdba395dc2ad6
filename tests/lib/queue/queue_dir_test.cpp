// Tests for lib/queue/queue_dir.cpp: the folder tree with its modes and owners (idempotent, repairs a
// wrong mode, refuses a symlink), queue IDs (shape, order, uniqueness within a process and
// across forked processes) and durable renames.
#include "lib/queue/queue_dir.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace postern {
namespace {

namespace fs = std::filesystem;

// One fresh directory per test, named after this file.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("queue_dir_test") {}
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(QueueDirTest, CreatesEveryFolderWithItsMode) {
  TempDir tmp;
  QueueLayout layout{tmp.path() + "/spool/postern"};  // parents do not exist yet
  ASSERT_TRUE(
      ensure_queue_directories(layout, static_cast<uid_t>(-1), static_cast<gid_t>(-1)).ok());
  for (const std::string& dir :
       {layout.incoming(), layout.active(), layout.deferred(), layout.hold(), layout.corrupt(),
        layout.private_dir()}) {
    EXPECT_TRUE(fs::is_directory(dir)) << dir;
    EXPECT_EQ(mode_of(dir), 0700u) << dir;
  }
  EXPECT_EQ(mode_of(layout.maildrop()), 01730u);
  EXPECT_EQ(mode_of(layout.public_dir()), 0710u);
  EXPECT_EQ(mode_of(layout.pid_dir()), 0755u);
  EXPECT_EQ(mode_of(layout.root), 0755u);

  // Idempotent, and repairs a mode someone changed.
  ASSERT_EQ(::chmod(layout.deferred().c_str(), 0777), 0);
  ASSERT_TRUE(
      ensure_queue_directories(layout, static_cast<uid_t>(-1), static_cast<gid_t>(-1)).ok());
  EXPECT_EQ(mode_of(layout.deferred()), 0700u);
}

TEST(QueueDirTest, ChownsWhenAsked) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  TempDir tmp;
  QueueLayout layout{tmp.path() + "/q"};
  const uid_t uid = 65534;  // nobody
  const gid_t gid = 65534;
  ASSERT_TRUE(ensure_queue_directories(layout, uid, gid).ok());
  struct stat st {};
  ASSERT_EQ(::stat(layout.incoming().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, gid);
  ASSERT_EQ(::stat(layout.root.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());  // the root keeps its owner
}

TEST(QueueDirTest, MaildropAndPublicBelongToThePostdropGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  TempDir tmp;
  QueueLayout layout{tmp.path() + "/q"};
  ASSERT_TRUE(ensure_queue_directories(layout, 65534, 65534, 4242).ok());
  struct stat st {};
  for (const std::string& dir : {layout.maildrop(), layout.public_dir()}) {
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u) << dir;
    EXPECT_EQ(st.st_gid, 4242u) << dir;
  }
  ASSERT_EQ(::stat(layout.incoming().c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 65534u);
}

TEST(QueueDirTest, RefusesASymlinkOrFileInPlaceOfAFolder) {
  TempDir tmp;
  QueueLayout layout{tmp.path() + "/q"};
  ASSERT_TRUE(fs::create_directories(layout.root));
  fs::create_directory(tmp.path() + "/elsewhere");
  fs::create_directory_symlink(tmp.path() + "/elsewhere", layout.incoming());
  Status st = ensure_queue_directories(layout, static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  EXPECT_FALSE(st.ok());

  QueueLayout layout2{tmp.path() + "/q2"};
  ASSERT_TRUE(fs::create_directories(layout2.root));
  std::ofstream(layout2.hold()) << "not a directory";
  EXPECT_FALSE(
      ensure_queue_directories(layout2, static_cast<uid_t>(-1), static_cast<gid_t>(-1)).ok());
}

TEST(QueueDirTest, QueueIdShape) {
  std::string id = new_queue_id();
  EXPECT_EQ(id.size(), 16u);
  EXPECT_TRUE(is_queue_id(id));
  EXPECT_TRUE(is_queue_id("0123456789ABCDEF"));
  EXPECT_FALSE(is_queue_id("0123456789ABCDE"));
  EXPECT_FALSE(is_queue_id("0123456789ABCDEFG"));
  EXPECT_FALSE(is_queue_id("0123456789abcdef"));
  EXPECT_FALSE(is_queue_id("0123456789ABCDE/"));
  EXPECT_FALSE(is_queue_id("..3456789ABCDEF0"));
  EXPECT_FALSE(is_queue_id(""));
}

TEST(QueueDirTest, QueueIdsAreUniqueAndSortByTime) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(new_queue_id());
  for (size_t i = 1; i < ids.size(); ++i) {
    // The first 10 characters are the time: strictly increasing within a process.
    EXPECT_LT(ids[i - 1].substr(0, 10), ids[i].substr(0, 10)) << i;
  }
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size());
}

TEST(QueueDirTest, QueueIdsAreUniqueAcrossProcesses) {
  constexpr int kChildren = 4;
  constexpr int kIdsPerChild = 2000;
  std::vector<int> read_fds;
  std::vector<pid_t> pids;
  new_queue_id();  // the parent's pid is cached: the children must not reuse it
  for (int c = 0; c < kChildren; ++c) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      std::string all;
      for (int i = 0; i < kIdsPerChild; ++i) all += new_queue_id();
      const char* p = all.data();
      size_t left = all.size();
      while (left > 0) {
        ssize_t n = ::write(fds[1], p, left);
        if (n <= 0) ::_exit(1);
        p += n;
        left -= static_cast<size_t>(n);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    read_fds.push_back(fds[0]);
    pids.push_back(pid);
  }
  std::set<std::string> all_ids;
  std::set<uint64_t> pid_tags;
  for (int c = 0; c < kChildren; ++c) {
    std::string data;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(read_fds[c], buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
    ::close(read_fds[c]);
    int status = 0;
    ASSERT_EQ(::waitpid(pids[c], &status, 0), pids[c]);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(data.size(), static_cast<size_t>(16 * kIdsPerChild));
    for (size_t i = 0; i < data.size(); i += 16) {
      std::string id = data.substr(i, 16);
      EXPECT_TRUE(is_queue_id(id));
      all_ids.insert(id);
    }
    // The last 6 characters encode pid * 512 + counter: each child's own pid.
    uint64_t tag = 0;
    for (char ch : data.substr(10, 6)) {
      tag = tag * 36 + static_cast<uint64_t>(ch <= '9' ? ch - '0' : ch - 'A' + 10);
    }
    pid_tags.insert(tag / 512);
  }
  EXPECT_EQ(all_ids.size(), static_cast<size_t>(kChildren * kIdsPerChild));
  std::set<uint64_t> child_pids(pids.begin(), pids.end());
  EXPECT_EQ(pid_tags, child_pids);
}

TEST(QueueDirTest, DurableRenameAcrossFolders) {
  TempDir tmp;
  fs::create_directory(tmp.path() + "/a");
  fs::create_directory(tmp.path() + "/b");
  std::ofstream(tmp.path() + "/a/f") << "data";
  ASSERT_TRUE(durable_rename(tmp.path() + "/a/f", tmp.path() + "/b/g").ok());
  EXPECT_FALSE(fs::exists(tmp.path() + "/a/f"));
  EXPECT_TRUE(fs::exists(tmp.path() + "/b/g"));
  ASSERT_TRUE(durable_rename(tmp.path() + "/b/g", tmp.path() + "/b/h").ok());
  EXPECT_TRUE(fs::exists(tmp.path() + "/b/h"));
  Status missing = durable_rename(tmp.path() + "/a/none", tmp.path() + "/b/none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  EXPECT_TRUE(fsync_directory(tmp.path()).ok());
  EXPECT_FALSE(fsync_directory(tmp.path() + "/nope").ok());
}

}  // namespace
}  // namespace postern
