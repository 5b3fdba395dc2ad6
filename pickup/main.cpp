// postern-pickup: moves what sendmail(1) left in maildrop/ (through postern-postdrop) into the
// queue (maildrop_pickup). Started by master with public/pickup on fd 3: postdrop connects
// there after each file, which makes pickup look at once; it also looks every
// kScanIntervalMs, so a lost nudge or mail submitted while the daemons were stopped is only
// delayed. Reads top to bottom: config, privilege drop, event loop. Runs as mail_owner; trusts
// master and main.cf, and nothing in maildrop/ (see maildrop_check.hpp). After a scan that
// queued something it nudges qmgr (private/qmgr, or public/qmgr), which also scans by itself.
#include <event2/event.h>
#include <event2/listener.h>
#include <unistd.h>

#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/config/mail_origin.hpp"
#include "lib/net/daemon.hpp"
#include "lib/queue/ipc.hpp"
#include "pickup/maildrop_pickup.hpp"

namespace {

using namespace postern;

constexpr int kScanIntervalMs = 1000;
constexpr size_t kFilesPerScan = 100;  // then back to the loop (signals, nudges), then on
constexpr int kQmgrNudgeTimeoutMs = 200;

struct Pickup {
  pickup::PickupSettings settings;
  event_base* base = nullptr;
  SingleEventHandle timer;
  bool scan_soon = false;

  void schedule(int delay_ms) {
    timeval tv{delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(timer.get(), &tv);
  }

  void scan() {
    bool more_left = false;
    size_t queued = pickup::pick_up_maildrop(settings, kFilesPerScan, &more_left);
    if (queued > 0) nudge_qmgr();
    schedule(more_left ? 0 : kScanIntervalMs);
  }

  void nudge_qmgr() const {
    AttrRecord request;
    request.add("request", "nudge");
    for (const std::string& path :
         {settings.queue.private_dir() + "/qmgr", settings.queue.public_dir() + "/qmgr"}) {
      if (::access(path.c_str(), F_OK) != 0) continue;
      if (Result<AttrRecord> reply = ipc_call(path, request, kQmgrNudgeTimeoutMs); !reply) {
        log::debug("nudge qmgr: {}", reply.error().describe());
      }
      return;
    }
  }

  static void on_timer(evutil_socket_t, short, void* arg) { static_cast<Pickup*>(arg)->scan(); }

  // A connection on public/pickup is a nudge: nothing is read from it.
  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) {
    ::close(fd);
    static_cast<Pickup*>(arg)->schedule(0);
  }
};

}  // namespace

int main(int argc, char** argv) {
  DaemonContext ctx = daemon_init(argc, argv, "pickup");
  if (!ctx.listen_fd) log::fatal("no listening socket on fd {}", kListenFd);

  Pickup pickup;
  pickup.settings.queue = QueueLayout{ctx.config.get("queue_directory")};
  pickup.settings.hostname = ctx.config.get("myhostname");
  pickup.settings.policy.origin = mail_origin(ctx.config);
  pickup.settings.policy.message_size_limit =
      static_cast<uint64_t>(ctx.config.get_size("message_size_limit"));
  Result<milter::MilterSettings> milters =
      milter::load_milter_settings(ctx.config, "non_smtpd_milters");
  if (!milters) log::fatal("{}", milters.error().describe());
  pickup.settings.milters = std::move(milters).value();

  drop_privileges(ctx.config);

  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("event_base_new failed");
  pickup.base = base.get();
  pickup.timer.reset(evtimer_new(base.get(), Pickup::on_timer, &pickup));
  ListenerHandle listener(evconnlistener_new(base.get(), Pickup::on_accept, &pickup,
                                             LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                             ctx.listen_fd.release()));
  if (!pickup.timer || !listener) log::fatal("cannot set up the event loop");
  DaemonStopWatch stop_watch(base.get(), ctx.master_watch_fd.get(),
                             [&] { event_base_loopexit(base.get(), nullptr); });
  pickup.schedule(0);
  event_base_dispatch(base.get());
  return 0;
}
