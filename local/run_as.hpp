// The one place postern-local changes identity: run_as forks a child that switches to the
// recipient's user (and the given group, no supplementary groups) before it does any work, so
// every mailbox, file and command write happens with that user's rights; only the fork and the
// switch run as root. The child's outcome comes back as one line on a pipe (delivery_outcome),
// bounded, and the child is killed (SIGKILL) when it outlives timeout_seconds. When postern-local
// does not run as root (a run-local suite), the child keeps our identity and only our own uid
// may be asked for. Runs in postern-local's worker threads: the child calls only our code until
// it execs a command (command_delivery), and closes every descriptor it does not need first.
// Because the process has threads, work() must not call what takes a lock another thread may
// have held at the fork: no log::, no stdio, no localtime/gmtime/strftime (glibc's tzset lock:
// a delivery child hung on it under load), no getpwnam; malloc is safe (glibc resets its locks
// in the child).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "local/delivery_outcome.hpp"

namespace postern::local {

struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // the user's primary group
  std::string home;
  std::string shell;
};

// The child runs work() as uid:gid and reports what it returned. A child that dies, is killed
// or writes no valid line is "deferred". keep_fds: descriptors the child keeps (the queue file);
// every other one above stderr is closed in the child before work() runs.
DeliveryOutcome run_as(uid_t uid, gid_t gid, int timeout_seconds, const std::vector<int>& keep_fds,
                       const std::function<DeliveryOutcome()>& work);

}  // namespace postern::local
