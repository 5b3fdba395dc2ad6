// postern-qmgr: the queue manager. Started by master with the private/qmgr socket on fd 3 (one
// copy only); owns the queue folders from incoming/ on, until SIGTERM or the master is gone.
// Reads top to bottom: config, accounts db, privilege drop, event loop. Trusts master (argv,
// descriptors) and main.cf; queue files and replies are checked where they are read.
#include <event2/event.h>

#include <memory>
#include <optional>

#include "lib/arc/arc_forward_sealing.hpp"
#include "lib/auth/accounts.hpp"
#include "lib/base/ascii.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/dkim/dkim_signing_keys.hpp"
#include "lib/net/daemon.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/store/lookup_table.hpp"
#include "qmgr/nudge_listener.hpp"
#include "qmgr/queue_manager.hpp"

int main(int argc, char** argv) {
  using namespace postern;
  DaemonContext ctx = daemon_init(argc, argv, "qmgr");
  if (!ctx.listen_fd) log::fatal("no listening socket on fd {}", kListenFd);
  const MainConfig& config = ctx.config;

  QmgrSettings settings;
  settings.layout = QueueLayout{config.get("queue_directory")};
  settings.delivery_socket = settings.layout.private_dir() + "/delivery";
  settings.relay_socket = settings.layout.private_dir() + "/relay";
  settings.local_socket = settings.layout.private_dir() + "/local";
  settings.relayhost = config.get("relayhost");
  settings.myhostname = config.get("myhostname");
  settings.recipient_delimiter = config.get("recipient_delimiter");
  settings.minimal_backoff_seconds = config.get_seconds("minimal_backoff_time");
  settings.maximal_backoff_seconds = config.get_seconds("maximal_backoff_time");
  settings.queue_run_delay_seconds = config.get_seconds("queue_run_delay");
  settings.temporary_file_lifetime_seconds = config.get_seconds("temporary_file_lifetime");
  settings.maximal_queue_lifetime_seconds = config.get_seconds("maximal_queue_lifetime");
  settings.bounce_queue_lifetime_seconds = config.get_seconds("bounce_queue_lifetime");
  settings.ipc_timeout_seconds = config.get_seconds("ipc_timeout");
  settings.delivery_concurrency = static_cast<size_t>(config.get_int("delivery_concurrency_limit"));
  settings.relay_concurrency = static_cast<size_t>(config.get_int("relay_concurrency_limit"));
  settings.local_concurrency =
      static_cast<size_t>(config.get_int("local_destination_concurrency_limit"));
  for (const std::string& domain : config.get_list("mydestination")) {
    settings.mydestination.push_back(ascii_lowercase(domain));
  }
  settings.delay_warning_seconds = config.get_seconds("delay_warning_time");

  // The accounts db is opened before the privilege drop (its files may be root's).
  Result<AccountsDb> accounts = AccountsDb::open(config.get("data_directory") + "/accounts", true);
  if (!accounts) log::fatal("cannot open the accounts db: {}", accounts.error().describe());

  // transport_maps, compiled by master (an empty table when the parameter is empty). Opened
  // before the privilege drop too. Without the table qmgr cannot route safely: fatal when the
  // admin named one; when none is configured the lookup is simply skipped.
  std::optional<LookupTable> transport_table;
  {
    Result<LookupTable> table =
        LookupTable::open(lookup_table_db_dir(config.get("data_directory"), "transport_maps"));
    if (table) {
      transport_table.emplace(std::move(table).value());
    } else if (!config.get_list("transport_maps").empty()) {
      log::fatal("cannot open the compiled transport_maps: {}", table.error().describe());
    }
  }
  if (transport_table) {
    const LookupTable* table = &*transport_table;
    settings.transport_lookup = [table](std::string_view key) { return table->find(key); };
  }

  drop_privileges(config);

  // The keys that ARC-seal forwarded copies, read as mail_owner (their owner). Without them
  // copies go out unsealed, which is how forwarding worked before: never fatal.
  std::optional<DkimSigningKeys> arc_keys;
  const bool arc_sealing_on = config.get_bool("arc_sealing");
  if (arc_sealing_on) {
    Result<DkimSigningKeys> keys = DkimSigningKeys::load(config.get("dkim_key_directory"));
    if (keys) {
      arc_keys.emplace(std::move(keys).value());
    } else {
      log::warning("ARC sealing without keys: {}", keys.error().describe());
    }
  }
  ArcForwardSealing arc_sealing(arc_sealing_on, arc_keys ? &*arc_keys : nullptr,
                                config.get("authmilter_authserv_id"));
  settings.arc_sealing = &arc_sealing;

  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("event_base_new failed");
  QueueManager manager(base.get(), settings, *accounts);
  NudgeListener listener(
      base.get(), std::move(ctx.listen_fd),
      [&](std::optional<std::string> queue_id) { manager.nudge(queue_id); },
      [&](const AttrRecord& request) { return answer_control_request(manager, request); });
  DaemonStopWatch stop_watch(base.get(), ctx.master_watch_fd.get(), [&] {
    listener.stop();
    manager.stop([&] { event_base_loopexit(base.get(), nullptr); });
  });
  manager.start();
  event_base_dispatch(base.get());
  return 0;
}
