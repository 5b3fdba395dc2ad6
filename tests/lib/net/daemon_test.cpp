// Tests for lib/net/daemon.cpp: argv parsing and config loading (file, fd 5 snapshot, -o overrides,
// errors), the descriptors taken from master (only a listening socket on 3, only a pipe on 4),
// the listener helpers (inet on port 0, unix with stale-socket removal and the sun_path limit
// at N and N+1), the main.cf size limit at N and N+1, the privilege drop (in a forked child, as
// root only) and the stop watch (SIGTERM, master pipe or socket EOF, once only; a log file
// master sends on the watch socket becomes stderr; SIGUSR1 ignored). Whatever may exit() runs
// in a forked child.
#include "lib/net/daemon.hpp"

#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

namespace postern {
namespace {

namespace fs = std::filesystem;

// One fresh directory per test, named after this file.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("daemon_test") {}
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Runs body in a forked child; returns its wait status. stderr of the child goes to err_path.
int in_child(const std::function<int()>& body, const std::string& err_path = "/dev/null") {
  pid_t pid = ::fork();
  if (pid == 0) {
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// argv as daemon_init wants it (char**), from strings.
struct Argv {
  explicit Argv(std::vector<std::string> words) : words_(std::move(words)) {
    for (std::string& word : words_) pointers_.push_back(word.data());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(words_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char*> pointers_;
};

bool is_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(DaemonInitTest, ParsesArgvLoadsMainCfAndAppliesOverrides) {
  TempDir dir;
  write_file(dir.path() + "/main.cf", "myhostname = mx.example.test\nmessage_size_limit = 1000\n");
  int status = in_child([&] {
    ::close(kListenFd);
    ::close(kMasterWatchFd);
    Argv args({"postern-smtpd", "-c", dir.path(), "-n", "127.0.0.1:2525", "-t", "inet", "-S", "-o",
               "message_size_limit=2000", "-osmtpd_banner=hello", "--", "-v", "extra"});
    DaemonContext ctx = daemon_init(args.argc(), args.argv(), "smtpd");
    bool ok = ctx.program == "smtpd" && ctx.service_name == "127.0.0.1:2525" &&
              ctx.service_type == "inet" && ctx.config_dir == dir.path() && ctx.log_to_stderr &&
              ctx.config.get_size("message_size_limit") == 2000 &&
              ctx.config.get("smtpd_banner") == "hello" &&
              ctx.config.get("myhostname") == "mx.example.test" &&
              ctx.config.get("config_directory") == dir.path() && !ctx.listen_fd.valid() &&
              !ctx.master_watch_fd.valid() && ctx.args == std::vector<std::string>{"-v", "extra"};
    return ok ? 0 : 3;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(DaemonInitTest, BrokenMainCfIsFatalWithFileAndLine) {
  TempDir dir;
  write_file(dir.path() + "/main.cf", "# one\n\nmessage_size_limit = lots\n");
  std::string err = dir.path() + "/stderr";
  int status = in_child(
      [&] {
        Argv args({"postern-qmgr", "-c", dir.path(), "-S"});
        daemon_init(args.argc(), args.argv(), "qmgr");
        return 0;
      },
      err);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(read_file(err).find("main.cf:3"), std::string::npos) << read_file(err);
}

TEST(DaemonInitTest, BadOverrideAndUsageErrorsAreFatal) {
  TempDir dir;
  write_file(dir.path() + "/main.cf", "\n");
  for (std::vector<std::string> words :
       {std::vector<std::string>{"x", "-c", dir.path(), "-S", "-o", "message_size_limit=big"},
        std::vector<std::string>{"x", "-c", dir.path(), "-S", "-o", "novalue"},
        std::vector<std::string>{"x", "-c", dir.path(), "-S", "-t", "tcp"},
        std::vector<std::string>{"x", "-c", dir.path(), "-S", "-Q"},
        std::vector<std::string>{"x", "-S", "-c"}}) {
    int status = in_child([&] {
      Argv args(words);
      daemon_init(args.argc(), args.argv(), "smtpd");
      return 0;
    });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1) << words.back();
  }
}

TEST(DaemonInitTest, MainCfSnapshotOnFd5WinsOverTheFile) {
  TempDir dir;
  write_file(dir.path() + "/main.cf", "message_size_limit = broken on disk\n");
  int status = in_child([&] {
    int memfd = ::memfd_create("snapshot", 0);
    std::string text = "message_size_limit = 4242\n";
    if (::write(memfd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return 4;
    ::dup2(memfd, kMainCfFd);
    Argv args({"postern-delivery", "-c", dir.path(), "-S", "-m"});
    DaemonContext ctx = daemon_init(args.argc(), args.argv(), "delivery");
    if (ctx.config.get_size("message_size_limit") != 4242) return 3;
    return is_open(kMainCfFd) ? 5 : 0;  // read and closed
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(DaemonInitTest, TakesOnlyAListeningSocketOnFd3AndOnlyAPipeOnFd4) {
  TempDir dir;
  write_file(dir.path() + "/main.cf", "\n");
  // A regular file on 3 and 4: neither is taken.
  int status = in_child([&] {
    int file = ::open((dir.path() + "/main.cf").c_str(), O_RDONLY);
    ::dup2(file, kListenFd);
    ::dup2(file, kMasterWatchFd);
    Argv args({"x", "-c", dir.path(), "-S"});
    DaemonContext ctx = daemon_init(args.argc(), args.argv(), "smtpd");
    return (!ctx.listen_fd.valid() && !ctx.master_watch_fd.valid()) ? 0 : 3;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // A listening socket on 3 and a pipe on 4: both taken, close-on-exec.
  status = in_child([&] {
    auto listener = listen_inet("127.0.0.1", 0, "ipv4");
    if (!listener) return 4;
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) return 4;
    ::dup2(listener->get(), kListenFd);
    ::dup2(pipe_fds[0], kMasterWatchFd);
    Argv args({"x", "-c", dir.path(), "-S"});
    DaemonContext ctx = daemon_init(args.argc(), args.argv(), "smtpd");
    if (ctx.listen_fd.get() != kListenFd || ctx.master_watch_fd.get() != kMasterWatchFd) return 3;
    if (!(::fcntl(kListenFd, F_GETFD) & FD_CLOEXEC)) return 5;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Master's watch socket (SOCK_SEQPACKET) on 4 is taken; a stream socket there is not.
  for (int type : {SOCK_SEQPACKET, SOCK_STREAM}) {
    status = in_child([&] {
      int pair[2];
      if (::socketpair(AF_UNIX, type, 0, pair) != 0) return 4;
      ::dup2(pair[1], kMasterWatchFd);
      Argv args({"x", "-c", dir.path(), "-S"});
      DaemonContext ctx = daemon_init(args.argc(), args.argv(), "smtpd");
      bool taken = ctx.master_watch_fd.get() == kMasterWatchFd;
      return taken == (type == SOCK_SEQPACKET) ? 0 : 3;
    });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << type;
  }
}

TEST(DaemonInitTest, DashLBindsTheListenerItself) {
  TempDir dir;
  write_file(dir.path() + "/main.cf", "\n");
  std::string socket_path = dir.path() + "/sock";
  int status = in_child([&] {
    Argv args({"x", "-c", dir.path(), "-S", "-L", socket_path});
    DaemonContext ctx = daemon_init(args.argc(), args.argv(), "qmgr");
    return (ctx.listen_fd.valid() && ctx.service_type == "unix") ? 0 : 3;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  status = in_child([&] {
    Argv args({"x", "-c", dir.path(), "-S", "-L", "127.0.0.1:0"});
    DaemonContext ctx = daemon_init(args.argc(), args.argv(), "smtpd");
    return (ctx.listen_fd.valid() && ctx.service_type == "inet") ? 0 : 3;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(ListenTest, InetOnPortZeroListensNonBlocking) {
  auto fd = listen_inet("127.0.0.1", 0, "all");
  ASSERT_TRUE(fd.ok()) << fd.error().describe();
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
  sockaddr_in address{};
  socklen_t len = sizeof address;
  ASSERT_EQ(::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&address), &len), 0);
  int client = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), len), 0);
  ::close(client);
  EXPECT_FALSE(listen_inet("127.0.0.1", 65536, "all").ok());
  EXPECT_FALSE(listen_inet("no-such-host.invalid", 0, "all").ok());
  // The port is taken: the second bind fails with the address in the message.
  auto again = listen_inet("127.0.0.1", ntohs(address.sin_port), "all");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().describe().find("127.0.0.1"), std::string::npos);
}

TEST(ListenTest, UnixReplacesAStaleSocketButNeverAFile) {
  TempDir dir;
  std::string path = dir.path() + "/qmgr";
  {
    auto first = listen_unix(path, 0600);
    ASSERT_TRUE(first.ok()) << first.error().describe();
  }  // closed: the socket file stays behind, stale
  auto second = listen_unix(path, 0666);
  ASSERT_TRUE(second.ok()) << second.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);

  std::string file = dir.path() + "/file";
  write_file(file, "keep me");
  EXPECT_FALSE(listen_unix(file, 0600).ok());
  EXPECT_EQ(read_file(file), "keep me");
}

TEST(ListenTest, UnixPathLimitAtNAndNPlusOne) {
  TempDir dir;
  size_t limit = sizeof(sockaddr_un{}.sun_path) - 1;  // room for the NUL
  std::string base = dir.path() + "/";
  ASSERT_LT(base.size(), limit);
  std::string at_limit = base + std::string(limit - base.size(), 's');
  std::string over = base + std::string(limit + 1 - base.size(), 's');
  EXPECT_TRUE(listen_unix(at_limit, 0600).ok());
  EXPECT_FALSE(listen_unix(over, 0600).ok());
}

TEST(ReadMainCfTextTest, LimitAtNAndNPlusOne) {
  int fd = ::memfd_create("big", 0);
  ASSERT_GE(fd, 0);
  std::string chunk(kMaxMainCfBytes, '#');
  ASSERT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
  auto at_limit = read_main_cf_text(fd, "big");
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->size(), kMaxMainCfBytes);
  ASSERT_EQ(::write(fd, "#", 1), 1);
  auto over = read_main_cf_text(fd, "big");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  ::close(fd);
}

TEST(DropPrivilegesTest, BecomesMailOwnerAndCannotGoBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  passwd* entry = ::getpwnam("postern");
  if (entry == nullptr) GTEST_SKIP() << "needs the postern user (scripts/install-deps)";
  uid_t uid = entry->pw_uid;
  MainConfig config;
  ASSERT_TRUE(config.set("mail_owner", "postern").ok());
  int status = in_child([&] {
    drop_privileges(config);
    if (::getuid() != uid || ::geteuid() != uid) return 3;
    return ::setuid(0) == 0 ? 4 : 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);

  for (const char* owner : {"root", "no-such-user-here"}) {
    MainConfig bad;
    ASSERT_TRUE(bad.set("mail_owner", owner).ok());
    status = in_child([&] {
      drop_privileges(bad);
      return 0;
    });
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1) << owner;
  }
}

struct StopCounter {
  int calls = 0;
  event_base* base = nullptr;
};

TEST(DaemonStopWatchTest, MasterPipeEofStopsOnce) {
  event_base* base = event_base_new();
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  StopCounter counter{0, base};
  {
    DaemonStopWatch watch(base, pipe_fds[0], [&] {
      ++counter.calls;
      event_base_loopexit(counter.base, nullptr);
    });
    ::close(pipe_fds[1]);  // master gone
    timeval limit{10, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    EXPECT_EQ(counter.calls, 1);
    ::raise(SIGTERM);  // a later signal does not call again
    timeval short_limit{0, 200000};
    event_base_loopexit(base, &short_limit);
    event_base_dispatch(base);
    EXPECT_EQ(counter.calls, 1);
  }
  ::close(pipe_fds[0]);
  event_base_free(base);
}

TEST(DaemonStopWatchTest, SigtermStopsAndSigpipeIsIgnored) {
  event_base* base = event_base_new();
  StopCounter counter{0, base};
  {
    DaemonStopWatch watch(base, -1, [&] {
      ++counter.calls;
      event_base_loopexit(counter.base, nullptr);
    });
    ::raise(SIGPIPE);  // ignored: we are still here
    ::raise(SIGTERM);
    timeval limit{10, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    EXPECT_EQ(counter.calls, 1);
  }
  event_base_free(base);
}

// What master does after a reopen (lib/net/daemon's send_log_file, as master calls it).
bool send_descriptor(int socket, int fd) { return send_log_file(socket, fd).ok(); }

TEST(DaemonStopWatchTest, LogFileFromMasterBecomesStderrAndSocketEofStops) {
  TempDir dir;
  std::string first = dir.path() + "/first.log";
  std::string second = dir.path() + "/second.log";
  int status = in_child([&] {
    event_base* base = event_base_new();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return 10;
    int calls = 0;
    DaemonStopWatch watch(base, pair[1], [&] {
      ++calls;
      event_base_loopexit(base, nullptr);
    });
    ::raise(SIGUSR1);  // master's signal: ignored by a worker
    for (const std::string& path : {first, second}) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (fd < 0) return 11;
      if (!send_descriptor(pair[0], fd)) return 15;
      ::close(fd);
      timeval tick{0, 200000};
      event_base_loopexit(base, &tick);
      event_base_dispatch(base);
      if (calls != 0) return 12;
      std::string line = "to " + path + "\n";
      if (::write(STDERR_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        return 13;
      }
    }
    ::close(pair[0]);  // master gone
    timeval limit{10, 0};
    event_base_loopexit(base, &limit);
    event_base_dispatch(base);
    return calls == 1 ? 0 : 14;
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(read_file(first), "to " + first + "\n");
  std::string later = read_file(second);  // then the watch's own line, to the new stderr
  EXPECT_EQ(later.rfind("to " + second + "\n", 0), 0u) << later;
  EXPECT_NE(later.find("]: master is gone: stopping\n"), std::string::npos) << later;
}

}  // namespace
}  // namespace postern
