// libmilter's side of postern-authmilter: registers the callbacks, listens where main() says,
// and turns each connection into an AuthSession (auth_session.hpp) and each end of message into
// header edits and a verdict. The only file that includes libmilter's headers. libmilter runs
// one thread per MTA connection and takes SIGTERM, SIGINT and SIGHUP on a thread of its own
// (SIGTERM: finish the connections in progress, then return from run_milter).
#pragma once

#include <functional>
#include <string>

#include "authmilter/auth_session.hpp"

namespace postern::authmilter {

struct MilterListen {
  std::string connection;    // libmilter form: "unix:/path", "inet:PORT@HOST", "inet6:PORT@HOST"
  int timeout_seconds = 30;  // how long a reply from the MTA may take
  int backlog = 128;
};

// Opens the socket (a stale unix socket file is replaced), calls listening() once it is in
// place, and serves until smfi_stop() or a signal. The services must outlive the call.
// Returns 0 on a clean stop.
int run_milter(const MilterListen& listen, const AuthServices& services,
               const std::function<void()>& listening);

// Asks run_milter to return (safe from any thread).
void stop_milter();

}  // namespace postern::authmilter
