// fork+exec of one worker with the descriptor layout lib/net/daemon.hpp documents: fd 0 from
// /dev/null, fd 1 and 2 inherited (2 is the maillog_file when there is one), fd 3 the service's
// listener, fd 4 the worker's end of a watch socket whose other end master keeps (EOF = master
// gone; master sends a new log file over it after a reopen), fd 5 the checked main.cf text (argv
// carries -m), nothing else. Process: master.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::master {

struct SpawnedWorker {
  pid_t pid = -1;
  UniqueFd watch_socket;  // master's end, close-on-exec
};

// Fails (without forking) when program is not executable or a pipe/fork fails. An exec that
// fails in the child is reported on stderr and the child exits with status 127.
Result<SpawnedWorker> spawn_worker(const std::string& program, const std::vector<std::string>& argv,
                                   int listen_fd, int main_cf_fd);


}  // namespace postern::master
