// How the daemons that serve connections (smtpd, submission, imapd) open their accounts
// database and end their main(): drop privileges, make the event loop and the server, listen on
// the master's socket (fd 3), and run until the master asks them to stop (SIGTERM, or the
// master gone), when the server stops gracefully. Fatal errors end the process with a log line.
#pragma once

#include <event2/event.h>

#include <string>
#include <utility>

#include "lib/auth/accounts.hpp"
#include "lib/net/daemon.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"

namespace postern {

// The accounts database, read-only; opened while still root.
inline AccountsDb open_accounts_or_exit(const std::string& path) {
  Result<AccountsDb> accounts = AccountsDb::open(path, true);
  if (!accounts) {
    log::fatal("cannot open the accounts database {}: {}", path, accounts.error().describe());
  }
  return std::move(accounts).value();
}

// Server(event_base*, args...) with listen(UniqueFd) and stop() (lib/net/session_server users).
template <class Server, class... Args>
int run_session_daemon(DaemonContext& ctx, Args&&... args) {
  drop_privileges(ctx.config);
  EventBaseHandle base(event_base_new());
  if (!base) log::fatal("event_base_new failed");
  Server server(base.get(), std::forward<Args>(args)...);
  if (Status st = server.listen(std::move(ctx.listen_fd)); !st) {
    log::fatal("cannot listen: {}", st.error().describe());
  }
  DaemonStopWatch stop_watch(base.get(), ctx.master_watch_fd.get(), [&server] { server.stop(); });
  event_base_dispatch(base.get());
  log::info("stopped");
  return 0;
}

}  // namespace postern
