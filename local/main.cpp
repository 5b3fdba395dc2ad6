// postern-local: delivery to the system users of mydestination (Postfix's local(8)): aliases,
// ~/.forward, /var/mail mboxes or ~/Maildir, "|command" and "/file" targets. Started by master
// with private/local on fd 3 and serves qmgr's requests until SIGTERM or the master is gone.
// Reads top to bottom: config, the compiled alias_maps (opened while root), event loop.
//
// Unlike the other workers it keeps root (master.cf's unpriv column is "n" for it): every write
// into a mailbox, a file or a command runs in a child that has switched to the user first
// (run_as); what runs as root is the request check, the passwd and alias lookups, reading
// ~/.forward and include files with ownership checks, and the fork. Run by a non-root user (a
// run-local suite) it delivers only to that user.
#include <event2/event.h>

#include <optional>

#include "lib/arc/arc_forward_sealing.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/dkim/dkim_signing_keys.hpp"
#include "lib/net/daemon.hpp"
#include "lib/store/lookup_table.hpp"
#include "local/local_server.hpp"

namespace {
constexpr int kStopGraceSeconds = 5;
}  // namespace

int main(int argc, char** argv) {
  using namespace postern;
  DaemonContext ctx = daemon_init(argc, argv, "local");
  if (!ctx.listen_fd) log::fatal("no listening socket on fd {}", kListenFd);
  local::LocalSettings settings = local::load_local_settings(ctx.config);

  // master compiles alias_maps (an empty table when the parameter is empty).
  std::optional<LookupTable> aliases;
  if (Result<LookupTable> table = LookupTable::open(settings.alias_db_dir); table) {
    aliases.emplace(std::move(table).value());
  } else {
    log::warning("no compiled alias_maps ({}): delivering without aliases",
                 table.error().describe());
  }

  // The keys that ARC-seal forwarded copies (read as root; the files are mail_owner's). Without
  // them copies go out unsealed, as forwarding always did: never fatal.
  std::optional<DkimSigningKeys> arc_keys;
  const bool arc_sealing_on = ctx.config.get_bool("arc_sealing");
  if (arc_sealing_on) {
    Result<DkimSigningKeys> keys = DkimSigningKeys::load(ctx.config.get("dkim_key_directory"));
    if (keys) {
      arc_keys.emplace(std::move(keys).value());
    } else {
      log::warning("ARC sealing without keys: {}", keys.error().describe());
    }
  }
  ArcForwardSealing arc_sealing(arc_sealing_on, arc_keys ? &*arc_keys : nullptr,
                                ctx.config.get("authmilter_authserv_id"));
  settings.arc_sealing = &arc_sealing;

  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("event_base_new failed");
  local::LocalServer server(base.get(), std::move(ctx.listen_fd), std::move(settings),
                            local::system_sources(aliases ? &*aliases : nullptr));
  DaemonStopWatch stop_watch(base.get(), ctx.master_watch_fd.get(), [&] {
    server.stop([&] { event_base_loopexit(base.get(), nullptr); });
    timeval grace{kStopGraceSeconds, 0};
    event_base_loopexit(base.get(), &grace);
  });
  event_base_dispatch(base.get());
  return 0;
}
