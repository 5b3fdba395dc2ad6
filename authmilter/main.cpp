// postern-authmilter: Postern's own milter for DKIM signing and verification, SPF, DMARC and
// Authentication-Results (ARC to come), built on libmilter. Reads top to bottom: config, the
// listening address, privilege drop, keys, then libmilter's loop until SIGTERM or the master
// is gone.
//
// Started by master for a unix service (shipped master.cf: "authmilter unix - - n - - authmilter",
// socket private/authmilter). libmilter cannot adopt a listening descriptor, so authmilter
// takes the path master bound on fd 3 and lets libmilter bind the same path again (the MTA side
// only ever sees the path). Connections that reached master's socket before that — they would
// wait there forever, as nobody accepts on it — are accepted and closed for a while
// (kInheritedDrainMs), so those MTA sessions fail at once with their milter_default_action
// instead of at their timeout. An inet service in master.cf is refused for the same reason: run
// postern-authmilter by hand with "-- inet:PORT@HOST" instead (beside a Postfix, for instance).
// Without master, the words after "--" name the socket in libmilter's form ("unix:/path",
// "inet:8891@127.0.0.1").
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "authmilter/auth_session.hpp"
#include "authmilter/authmilter_settings.hpp"
#include "authmilter/milter_callbacks.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/dkim/dkim_signing_keys.hpp"
#include "lib/dmarc/organizational_domain.hpp"
#include "lib/net/daemon.hpp"
#include "lib/net/dns_cache.hpp"

namespace {

using namespace postern;
using namespace postern::authmilter;

// The path of the unix socket master bound on fd, or an error for any other kind.
Result<std::string> unix_path_of(int fd) {
  sockaddr_un address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return Error::system("getsockname");
  }
  if (address.sun_family != AF_UNIX || length <= offsetof(sockaddr_un, sun_path) ||
      address.sun_path[0] == '\0') {
    return Error::config(
        "master.cf: authmilter must be a unix service (libmilter binds its own socket; run "
        "postern-authmilter by hand for inet)");
  }
  return std::string(address.sun_path);
}

constexpr int kInheritedDrainMs = 3000;

// Accepts and closes what arrives on master's listener (fd 3), then closes it (see the top).
void drain_inherited_listener(int fd) {
  UniqueFd listener(fd);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kInheritedDrainMs);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd ready{listener.get(), POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    int connection = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (connection >= 0) ::close(connection);
  }
}

// Watches master's end of fd 4 on a thread of its own: EOF (master gone) stops libmilter.
void watch_master(int master_watch_fd) {
  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("no event loop for the master watch");
  DaemonStopWatch watch(
      base.get(), master_watch_fd,
      [&] {
        stop_milter();
        event_base_loopbreak(base.get());
      },
      StopSignals::kIgnore);
  event_base_dispatch(base.get());
}

}  // namespace

int main(int argc, char** argv) {
  DaemonContext ctx = daemon_init(argc, argv, "authmilter");
  Result<AuthmilterSettings> settings = load_authmilter_settings(ctx.config);
  if (!settings) log::fatal("{}", settings.error().message);

  MilterListen listen;
  listen.timeout_seconds = static_cast<int>(ctx.config.get_seconds("milter_command_timeout"));
  if (!ctx.args.empty()) {
    listen.connection = ctx.args.front();
  } else if (ctx.listen_fd) {
    Result<std::string> path = unix_path_of(ctx.listen_fd.get());
    if (!path) log::fatal("{}", path.error().message);
    listen.connection = "unix:" + *path;
  } else {
    log::fatal("no socket: start me from master.cf, or name one after --");
  }

  // The Public Suffix List is read now, while every file is still readable.
  if (Status loaded = preload_public_suffix_list(); !loaded) {
    log::warning("public suffix list: {}", loaded.error().message);
  }
  drop_privileges(ctx.config);

  Result<DkimSigningKeys> keys = DkimSigningKeys::load(settings->key_directory);
  if (!keys) log::fatal("{}", keys.error().message);
  log::info("{} signing key(s) for {} domain(s) in {}", keys->key_count(), keys->domain_count(),
            settings->key_directory);

  DnsCacheOptions cache_options;
  cache_options.max_entries = settings->dns_cache_entries;
  DnsCache dns_cache(std::move(cache_options));
  AuthServices services{&*settings, &*keys, &dns_cache};

  // Block the stop signals before any thread exists, so that every thread inherits the mask and
  // only libmilter's signal thread (sigwait) takes them; then watch master.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::thread master_watch;
  if (ctx.master_watch_fd) {
    master_watch = std::thread(watch_master, ctx.master_watch_fd.get());
    master_watch.detach();
  }
  int inherited = ctx.listen_fd.release();
  int status = run_milter(listen, services, [inherited] {
    if (inherited >= 0) std::thread(drain_inherited_listener, inherited).detach();
  });
  log::info("stopped");
  return status;
}
