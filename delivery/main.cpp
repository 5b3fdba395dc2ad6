// postern-delivery: local delivery into virtual Maildir++ mailboxes. Started by master with the
// private/delivery socket on fd 3; serves qmgr's requests until SIGTERM or the master is gone.
// Reads top to bottom: config, privilege drop, event loop. Trusts master (argv, descriptors) and
// main.cf; every request is checked (see delivery_server.hpp).
#include <event2/event.h>

#include <memory>

#include "delivery/delivery_server.hpp"
#include "lib/net/daemon.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"

namespace {

constexpr int kStopGraceSeconds = 5;

}  // namespace

int main(int argc, char** argv) {
  using namespace postern;
  DaemonContext ctx = daemon_init(argc, argv, "delivery");
  if (!ctx.listen_fd) log::fatal("no listening socket on fd {}", kListenFd);

  DeliverySettings settings;
  settings.mail_base = ctx.config.get("virtual_mailbox_base");
  settings.active_dir = QueueLayout{ctx.config.get("queue_directory")}.active();
  settings.hostname = ctx.config.get("myhostname");

  drop_privileges(ctx.config);

  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("event_base_new failed");
  DeliveryServer server(base.get(), std::move(ctx.listen_fd), settings);
  DaemonStopWatch stop_watch(base.get(), ctx.master_watch_fd.get(), [&] {
    server.stop([&] { event_base_loopexit(base.get(), nullptr); });
    timeval grace{kStopGraceSeconds, 0};  // a reader that never drains does not hold us
    event_base_loopexit(base.get(), &grace);
  });
  event_base_dispatch(base.get());
  return 0;
}
