// The worker skeleton (lib/net/daemon.hpp): argv parsing, main.cf plus "-o" overrides, logging set
// up, the descriptors master hands over (fd 3 listener, fd 4 master watch, fd 5 the main.cf text
// master checked, with -m), the privilege drop, the stop watch (SIGTERM, SIGINT, master gone),
// and the listening-socket helpers that master and the -L test option share. Runs in every
// worker (smtpd, qmgr, delivery...) and in master. Trusts master's argv and descriptors and the
// admin's config; it checks that fd 3 really is a listening socket and fd 4 a pipe before taking
// them, so a stray descriptor inherited from a shell is never mistaken for one. Bounded: the
// getpwnam_r buffer (kMaxPasswdBuffer), main.cf text (kMaxMainCfBytes).
#include "lib/net/daemon.hpp"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "lib/base/log.hpp"

namespace postern {
namespace {

constexpr const char* kDefaultConfigDir = "/etc/postern";
constexpr size_t kMaxPasswdBuffer = 1024 * 1024;
constexpr int kMaxMasterMessagesPerEvent = 16;

struct ParsedArgs {
  std::string config_dir = kDefaultConfigDir;
  std::string service_name;
  std::string service_type;
  std::string listen_address;  // -L
  bool log_to_stderr = false;
  bool debug = false;
  bool main_cf_on_fd = false;  // -m
  std::vector<std::pair<std::string, std::string>> overrides;
  std::vector<std::string> args;
  std::string error;  // usage error, reported once logging is set up
};

// Options taking a value: -c -n -t -o -L, either "-c DIR" or "-cDIR". Flags: -S -m -v.
ParsedArgs parse_args(int argc, char** argv) {
  ParsedArgs parsed;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // first plain word: the args start here
    char option = arg[1];
    if (option == 'S' && arg.size() == 2) {
      parsed.log_to_stderr = true;
      continue;
    }
    if (option == 'v' && arg.size() == 2) {
      parsed.debug = true;
      continue;
    }
    if (option == 'm' && arg.size() == 2) {
      parsed.main_cf_on_fd = true;
      continue;
    }
    if (std::string_view("cntoL").find(option) == std::string_view::npos) {
      parsed.error = fmt::format("unknown option {}", log::printable(arg, 40));
      return parsed;
    }
    std::string value;
    if (arg.size() > 2) {
      value = std::string(arg.substr(2));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      parsed.error = fmt::format("option -{} needs a value", option);
      return parsed;
    }
    switch (option) {
      case 'c':
        parsed.config_dir = value;
        break;
      case 'n':
        parsed.service_name = value;
        break;
      case 't':
        parsed.service_type = value;
        break;
      case 'L':
        parsed.listen_address = value;
        break;
      case 'o': {
        size_t eq = value.find('=');
        if (eq == std::string::npos || eq == 0) {
          parsed.error = fmt::format("-o {}: expected name=value", log::printable(value, 80));
          return parsed;
        }
        std::string name = value.substr(0, eq);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        size_t start = eq + 1;
        while (start < value.size() && value[start] == ' ') ++start;
        parsed.overrides.emplace_back(std::move(name), value.substr(start));
        break;
      }
    }
  }
  for (; i < argc; ++i) parsed.args.emplace_back(argv[i]);
  if (parsed.config_dir.empty()) parsed.error = "-c: empty configuration directory";
  if (!parsed.service_type.empty() && parsed.service_type != "inet" &&
      parsed.service_type != "unix") {
    parsed.error =
        fmt::format("-t {}: expected inet or unix", log::printable(parsed.service_type, 20));
  }
  return parsed;
}

bool is_listening_socket(int fd) {
  int accepting = 0;
  socklen_t len = sizeof accepting;
  return ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 && accepting != 0;
}

// Master's watch socket (a SOCK_SEQPACKET socketpair end), or a pipe (older masters, tests).
bool is_master_watch(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  if (S_ISFIFO(st.st_mode)) return true;
  if (!S_ISSOCK(st.st_mode)) return false;
  int domain = 0;
  int type = 0;
  socklen_t len = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return false;
  len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return false;
  return domain == AF_UNIX && type == SOCK_SEQPACKET;
}

bool is_socket(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

// One message from master's watch socket: a byte and, after a maillog_file reopen, a descriptor
// of the new log file, which becomes our stderr (the old file is closed with it). Returns the
// recvmsg result (0 = EOF).
ssize_t receive_from_master(int fd) {
  char byte = 0;
  iovec part{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n <= 0) return n;
  bool replaced = false;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      if (!replaced && byte == 'L' && ::dup2(received, STDERR_FILENO) >= 0) replaced = true;
      ::close(received);
    }
  }
  if (replaced) log::debug("log file reopened");
  return n;
}

// Takes fd when it is open and passes check; marks it close-on-exec (nothing we exec needs it).
UniqueFd adopt_fd(int fd, bool (*check)(int)) {
  if (::fcntl(fd, F_GETFD) == -1 || !check(fd)) return UniqueFd();
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return UniqueFd(fd);
}

// "host:port", "[v6]:port", ":port" -> host ("" = every address) and port.
std::optional<std::pair<std::string, int>> split_host_port(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return std::make_pair(host, port);
}

std::string describe_endpoint(const std::string& host, int port) {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host.empty() ? "*" : host, port);
}

Result<UniqueFd> bind_and_listen(int family, const sockaddr* address, socklen_t address_len,
                                 bool v6_only, const std::string& shown) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error::system("socket for " + shown);
  int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return Error::system("setsockopt SO_REUSEADDR for " + shown);
  }
  if (family == AF_INET6) {
    int only = v6_only ? 1 : 0;
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only) != 0) {
      return Error::system("setsockopt IPV6_V6ONLY for " + shown);
    }
  }
  if (::bind(fd.get(), address, address_len) != 0) return Error::system("bind " + shown);
  if (::listen(fd.get(), kListenBacklog) != 0) return Error::system("listen " + shown);
  return fd;
}

Result<UniqueFd> listen_wildcard(int port, std::string_view inet_protocols) {
  std::string shown = describe_endpoint("", port);
  if (inet_protocols != "ipv4") {
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_addr = in6addr_any;
    any6.sin6_port = htons(static_cast<uint16_t>(port));
    auto fd = bind_and_listen(AF_INET6, reinterpret_cast<const sockaddr*>(&any6), sizeof any6,
                              inet_protocols == "ipv6", shown);
    bool no_ipv6 = !fd.ok() && fd.error().kind == ErrorKind::kSystem &&
                   (fd.error().sys_errno == EAFNOSUPPORT || fd.error().sys_errno == EADDRNOTAVAIL);
    if (fd.ok() || !no_ipv6 || inet_protocols == "ipv6") return fd;
    // No IPv6 in this kernel: serve IPv4 alone.
  }
  sockaddr_in any4{};
  any4.sin_family = AF_INET;
  any4.sin_addr.s_addr = htonl(INADDR_ANY);
  any4.sin_port = htons(static_cast<uint16_t>(port));
  return bind_and_listen(AF_INET, reinterpret_cast<const sockaddr*>(&any4), sizeof any4, false,
                         shown);
}

// Owner of a getaddrinfo() answer.
class AddrInfo {
 public:
  explicit AddrInfo(addrinfo* list) : list_(list) {}
  AddrInfo(const AddrInfo&) = delete;
  AddrInfo& operator=(const AddrInfo&) = delete;
  ~AddrInfo() {
    if (list_) ::freeaddrinfo(list_);
  }
  const addrinfo* get() const { return list_; }

 private:
  addrinfo* list_;
};

}  // namespace

Result<std::string> read_main_cf_text(int fd, const std::string& shown_name) {
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("read " + shown_name);
    }
    if (n == 0) return text;
    if (text.size() + static_cast<size_t>(n) > kMaxMainCfBytes) {
      return Error::limit(fmt::format("{}: larger than {} bytes", shown_name, kMaxMainCfBytes));
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

Result<UniqueFd> listen_inet(const std::string& host, int port, std::string_view inet_protocols) {
  if (port < 0 || port > 65535) return Error::config(fmt::format("bad port {}", port));
  if (host.empty() || host == "*") return listen_wildcard(port, inet_protocols);
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = inet_protocols == "ipv4"   ? AF_INET
                    : inet_protocols == "ipv6" ? AF_INET6
                                               : AF_UNSPEC;
  addrinfo* raw = nullptr;
  std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(name.c_str(), port_text.c_str(), &hints, &raw);
  AddrInfo answer(raw);
  std::string shown = describe_endpoint(name, port);
  if (rc != 0) {
    return Error::config(fmt::format("listen address {}: {}", shown, ::gai_strerror(rc)));
  }
  for (const addrinfo* ai = answer.get(); ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    return bind_and_listen(ai->ai_family, ai->ai_addr, ai->ai_addrlen, true, shown);
  }
  return Error::config(fmt::format("listen address {}: no usable address", shown));
}

Result<UniqueFd> listen_unix(const std::string& path, unsigned mode) {
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return Error::config(fmt::format("socket path {} is empty or longer than {} bytes", path,
                                     sizeof address.sun_path - 1));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Error::config(path + " exists and is not a socket; not removing it");
    }
    if (::unlink(path.c_str()) != 0) return Error::system("unlink stale socket " + path);
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error::system("socket for " + path);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return Error::system("bind " + path);
  }
  // bind() honoured the umask (never looser than asked); now set exactly what we mean.
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return Error::system("chmod " + path);
  }
  if (::listen(fd.get(), kListenBacklog) != 0) return Error::system("listen " + path);
  return fd;
}

DaemonContext daemon_init(int argc, char** argv, std::string_view program) {
  ParsedArgs parsed = parse_args(argc, argv);
  DaemonContext ctx;
  ctx.program = std::string(program);
  ctx.log_to_stderr = parsed.log_to_stderr;
  log::init("postern/" + ctx.program, ctx.log_to_stderr);
  if (parsed.debug) log::set_debug(true);
  if (!parsed.error.empty()) {
    log::fatal(
        "{}; usage: postern-{} -c CONFIG_DIR -n SERVICE -t inet|unix [-S] [-m] [-v] "
        "[-L ADDRESS] [-o name=value]... [-- args]",
        parsed.error, ctx.program);
  }
  ctx.config_dir = parsed.config_dir;
  ctx.service_name = parsed.service_name.empty() ? ctx.program : parsed.service_name;
  ctx.args = std::move(parsed.args);

  std::vector<ConfigWarning> warnings;
  std::string main_cf_path = ctx.config_dir + "/main.cf";
  Result<MainConfig> loaded = Error::config("not loaded");
  if (parsed.main_cf_on_fd) {
    UniqueFd snapshot(kMainCfFd);
    auto text = read_main_cf_text(snapshot.get(), main_cf_path + " (from master, fd 5)");
    if (!text) log::fatal("{}", text.error().describe());
    loaded = MainConfig::parse(*text, main_cf_path, &warnings);
  } else {
    loaded = MainConfig::load(main_cf_path, &warnings);
  }
  if (!loaded) log::fatal("{}", loaded.error().describe());
  ctx.config = std::move(loaded).value();
  if (Status set = ctx.config.set("config_directory", ctx.config_dir); !set) {
    log::fatal("config_directory = {}: {}", ctx.config_dir, set.error().describe());
  }
  for (const auto& [name, value] : parsed.overrides) {
    if (Status set = ctx.config.set(name, value); !set) {
      log::fatal("-o {}={}: {}", name, value, set.error().describe());
    }
  }
  std::string syslog_name = ctx.config.get("syslog_name");
  if (!syslog_name.empty() && syslog_name != "postern") {
    log::init(syslog_name + "/" + ctx.program, ctx.log_to_stderr);
  }
  log::set_host_name(ctx.config.get("myhostname"));
  for (const ConfigWarning& warning : warnings) log::warning("{}", warning.describe());

  if (!parsed.listen_address.empty()) {
    bool is_unix = parsed.listen_address.find('/') != std::string::npos;
    if (parsed.service_type.empty()) parsed.service_type = is_unix ? "unix" : "inet";
    if (is_unix) {
      auto fd = listen_unix(parsed.listen_address, 0666);
      if (!fd) log::fatal("-L {}: {}", parsed.listen_address, fd.error().describe());
      ctx.listen_fd = std::move(fd).value();
    } else {
      auto host_port = split_host_port(parsed.listen_address);
      if (!host_port) log::fatal("-L {}: expected host:port", parsed.listen_address);
      auto fd = listen_inet(host_port->first, host_port->second, ctx.config.get("inet_protocols"));
      if (!fd) log::fatal("-L {}: {}", parsed.listen_address, fd.error().describe());
      ctx.listen_fd = std::move(fd).value();
    }
  } else {
    ctx.listen_fd = adopt_fd(kListenFd, is_listening_socket);
  }
  ctx.master_watch_fd = adopt_fd(kMasterWatchFd, is_master_watch);
  ctx.service_type = parsed.service_type.empty() ? "unix" : parsed.service_type;
  return ctx;
}

void drop_privileges(const MainConfig& config) {
  if (::geteuid() != 0) return;
  std::string owner = config.get("mail_owner");
  if (owner.empty()) log::fatal("mail_owner is empty: refusing to run as root");
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int rc = 0;
  while ((rc = ::getpwnam_r(owner.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
             ERANGE &&
         buffer.size() < kMaxPasswdBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  if (rc != 0) log::fatal("mail_owner {}: user lookup failed: {}", owner, std::strerror(rc));
  if (found == nullptr) log::fatal("mail_owner {}: no such user", owner);
  uid_t uid = entry.pw_uid;
  gid_t gid = entry.pw_gid;
  if (uid == 0) log::fatal("mail_owner {} has user ID 0: refusing to run as root", owner);
  if (gid == 0) log::fatal("mail_owner {} has group ID 0: refusing to run as root", owner);
  if (::initgroups(entry.pw_name, gid) != 0) {
    log::fatal("initgroups {}: {}", owner, std::strerror(errno));
  }
  if (::setgid(gid) != 0) log::fatal("setgid {}: {}", gid, std::strerror(errno));
  if (::setuid(uid) != 0) log::fatal("setuid {}: {}", uid, std::strerror(errno));
  if (::setuid(0) == 0 || ::seteuid(0) == 0) {
    log::fatal("privileges dropped to {} but root could be regained", owner);
  }
  if (::getuid() != uid || ::geteuid() != uid || ::getgid() != gid || ::getegid() != gid) {
    log::fatal("privileges dropped to {} but the process IDs do not match", owner);
  }
  log::debug("running as {} (uid {}, gid {})", owner, uid, gid);
}

DaemonStopWatch::DaemonStopWatch(event_base* base, int master_watch_fd,
                                 std::function<void()> on_stop, StopSignals signals)
    : on_stop_(std::move(on_stop)),
      watch_is_socket_(master_watch_fd >= 0 && is_socket(master_watch_fd)) {
  ::signal(SIGPIPE, SIG_IGN);
  // SIGUSR1 is master's (reopen the log); one sent to the whole group must not kill a worker.
  ::signal(SIGUSR1, SIG_IGN);
  if (signals == StopSignals::kIgnore) {
    watch_master(base, master_watch_fd);
    return;
  }
  sigterm_ = evsignal_new(base, SIGTERM, &DaemonStopWatch::on_event, this);
  sigint_ = evsignal_new(base, SIGINT, &DaemonStopWatch::on_event, this);
  if (sigterm_ == nullptr || sigint_ == nullptr || evsignal_add(sigterm_, nullptr) != 0 ||
      evsignal_add(sigint_, nullptr) != 0) {
    log::fatal("cannot watch SIGTERM and SIGINT");
  }
  watch_master(base, master_watch_fd);
}

void DaemonStopWatch::watch_master(event_base* base, int master_watch_fd) {
  if (master_watch_fd >= 0) {
    master_ =
        event_new(base, master_watch_fd, EV_READ | EV_PERSIST, &DaemonStopWatch::on_event, this);
    if (master_ == nullptr || event_add(master_, nullptr) != 0) {
      log::fatal("cannot watch the master pipe");
    }
  }
}

DaemonStopWatch::~DaemonStopWatch() {
  if (sigterm_) event_free(sigterm_);
  if (sigint_) event_free(sigint_);
  if (master_) event_free(master_);
}

void DaemonStopWatch::on_event(int fd, short what, void* arg) {
  auto* self = static_cast<DaemonStopWatch*>(arg);
  if (what & EV_SIGNAL) {
    log::debug("signal {}: stopping", fd);
    self->fire();
    return;
  }
  // On the socket master sends only new log files; a pipe it never writes. Otherwise readable
  // means EOF (master gone), or an error.
  ssize_t n = 0;
  if (self->watch_is_socket_) {
    for (int i = 0; i < kMaxMasterMessagesPerEvent; ++i) {
      n = receive_from_master(fd);
      if (n <= 0) break;
    }
  } else {
    char buffer[64];
    n = ::read(fd, buffer, sizeof buffer);
  }
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) return;
  event_del(self->master_);  // EOF stays readable: stop listening to it
  log::info("master is gone: stopping");
  self->fire();
}

void DaemonStopWatch::fire() {
  if (fired_) return;
  fired_ = true;
  // on_stop may tear down what owns this watch: call a copy.
  std::function<void()> callback = on_stop_;
  if (callback) callback();
}

// Master's side of receive_from_master: one byte 'L' with the descriptor.
Status send_log_file(int watch_socket, int fd) {
  char byte = 'L';
  iovec part{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  while (::sendmsg(watch_socket, &message, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return Error::system("send the log file");
  }
  return Status::success();
}

}  // namespace postern
