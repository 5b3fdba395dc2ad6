// The exit statuses of the `postern` command, one list for every subcommand (postern(8), EXIT
// STATUS, says the same). Scripts may test for them: a missing queue ID or user is 3, not 1.
#pragma once

namespace postern::cli {

inline constexpr int kExitOk = 0;          // done
inline constexpr int kExitFailed = 1;      // it could not be done (the message says why)
inline constexpr int kExitUsage = 2;       // bad command line
inline constexpr int kExitNotFound = 3;    // the named queue ID, user, alias, domain or key is not there
inline constexpr int kExitNotRunning = 4;  // it needs the running suite and postern-master is down
inline constexpr int kExitBadConfig = 5;   // the configuration has errors (config check, setup)
inline constexpr int kExitDenied = 6;      // only root or mail_owner may do that

}  // namespace postern::cli
