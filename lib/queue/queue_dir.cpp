// The queue directory: creating its folders with their owners and modes, queue IDs, and the
// directory fsync that makes a rename durable. Run by master (creates the tree as root), smtpd
// (new IDs, renames into incoming/), qmgr (moves between folders) and the CLI. Trusts the
// queue_directory path from main.cf; a sub-folder that exists but is not a real directory
// (a symlink planted by someone) is refused rather than followed.
#include "lib/queue/queue_dir.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "lib/base/unique_fd.hpp"

namespace postern {
namespace {

constexpr char kBase36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr size_t kQueueIdLength = 16;
constexpr size_t kTimeDigits = 10;                 // 36^10 microseconds: good until the year 2085
constexpr size_t kTagDigits = 6;                   // 36^6 > 2^31 = pid (22 bits) x counter (9 bits)
constexpr uint64_t kPidLimit = uint64_t{1} << 22;  // Linux pid_max ceiling
constexpr uint64_t kCounterLimit = uint64_t{1} << 9;

struct FolderSpec {
  std::string path;
  mode_t mode;
};

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Creates path (one level) if absent, then enforces mode and owner. follow_symlink: only for
// the root, which an admin may legitimately point elsewhere.
Status ensure_directory(const std::string& path, mode_t mode, uid_t uid, gid_t gid,
                        bool follow_symlink) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Error::system("mkdir " + path);
  }
  struct stat st {};
  int rc = follow_symlink ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) return Error::system("stat " + path);
  if (!S_ISDIR(st.st_mode)) {
    return Error::config(path + " exists and is not a directory");
  }
  // mkdir's mode is filtered by the umask; say exactly what we mean.
  if ((st.st_mode & 07777) != mode && ::chmod(path.c_str(), mode) != 0) {
    return Error::system("chmod " + path);
  }
  if ((uid != static_cast<uid_t>(-1) && st.st_uid != uid) ||
      (gid != static_cast<gid_t>(-1) && st.st_gid != gid)) {
    if (::chown(path.c_str(), uid, gid) != 0) return Error::system("chown " + path);
  }
  return Status::success();
}

// Creates every missing parent of path (like mkdir -p), mode 0755, owned by whoever runs us.
Status make_parents(const std::string& path) {
  if (path.empty()) return Error::config("empty queue_directory");
  for (size_t pos = 1; pos < path.size(); ++pos) {
    if (path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::system("mkdir " + prefix);
    }
  }
  return Status::success();
}

// The pid is cached (getpid is a system call) and refreshed in a forked child.
std::atomic<uint64_t> g_cached_pid{0};
std::atomic<uint64_t> g_last_micros{0};
std::atomic<uint64_t> g_counter{0};

void forget_pid_after_fork() {
  g_cached_pid.store(0, std::memory_order_relaxed);
}

uint64_t current_pid() {
  uint64_t pid = g_cached_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    static const bool registered = [] {
      ::pthread_atfork(nullptr, nullptr, forget_pid_after_fork);
      return true;
    }();
    (void)registered;
    pid = static_cast<uint64_t>(::getpid());
    g_cached_pid.store(pid, std::memory_order_relaxed);
  }
  return pid;
}

void put_base36(char* out, size_t digits, uint64_t value) {
  for (size_t i = digits; i > 0; --i) {
    out[i - 1] = kBase36[value % 36];
    value /= 36;
  }
}

}  // namespace

Status ensure_queue_directories(const QueueLayout& layout, uid_t uid, gid_t gid,
                                gid_t postdrop_gid) {
  std::string root = layout.root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (Status st = make_parents(root); !st) return st;
  // The root keeps its owner (root), readable so that local users reach public/ and maildrop/.
  if (Status st = ensure_directory(root, 0755, static_cast<uid_t>(-1), static_cast<gid_t>(-1),
                                   true);
      !st) {
    return st;
  }
  QueueLayout clean{root};
  const FolderSpec folders[] = {
      {clean.incoming(), 0700}, {clean.active(), 0700},      {clean.deferred(), 0700},
      {clean.defer(), 0700},    {clean.hold(), 0700},        {clean.corrupt(), 0700},
      {clean.private_dir(), 0700}, {clean.pid_dir(), 0755},
  };
  for (const FolderSpec& folder : folders) {
    if (Status st = ensure_directory(folder.path, folder.mode, uid, gid, false); !st) return st;
  }
  // sendmail(1)'s way in, as in Postfix: the setgid postdrop helper may create files in
  // maildrop/ (sticky: nobody removes another's) but not list it; public/pickup is reached by
  // the same group only.
  gid_t group = postdrop_gid != static_cast<gid_t>(-1) ? postdrop_gid : gid;
  const FolderSpec postdrop_folders[] = {{clean.maildrop(), 01730}, {clean.public_dir(), 0710}};
  for (const FolderSpec& folder : postdrop_folders) {
    if (Status st = ensure_directory(folder.path, folder.mode, uid, group, false); !st) return st;
  }
  return Status::success();
}

std::string new_queue_id() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  uint64_t micros =
      static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
  // Never go backwards within a process (clock steps, two IDs in one microsecond): the time
  // part stays strictly increasing, so IDs sort by arrival and never repeat within a process.
  uint64_t last = g_last_micros.load(std::memory_order_relaxed);
  uint64_t chosen;
  do {
    chosen = micros > last ? micros : last + 1;
  } while (!g_last_micros.compare_exchange_weak(last, chosen, std::memory_order_relaxed));

  uint64_t tag = (current_pid() % kPidLimit) * kCounterLimit +
                 (g_counter.fetch_add(1, std::memory_order_relaxed) % kCounterLimit);
  std::string id(kQueueIdLength, '0');
  put_base36(id.data(), kTimeDigits, chosen);
  put_base36(id.data() + kTimeDigits, kTagDigits, tag);
  return id;
}

bool is_queue_id(std::string_view text) {
  if (text.size() != kQueueIdLength) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

Status fsync_directory(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("open directory " + path);
  if (::fsync(fd.get()) != 0) return Error::system("fsync directory " + path);
  return Status::success();
}

Status durable_rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Error::system("rename " + from + " to " + to);
  }
  std::string to_dir = dirname_of(to);
  if (Status st = fsync_directory(to_dir); !st) return st;
  std::string from_dir = dirname_of(from);
  if (from_dir != to_dir) return fsync_directory(from_dir);
  return Status::success();
}

}  // namespace postern
