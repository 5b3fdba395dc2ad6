// What `postern status` reports, gathered: postern-master (running? its pid, since when), each
// service as master published it (lib/queue/master_state.hpp), the number of files in each queue
// folder, the oldest deferred message with its deferral reasons (defer/ID), and the certificates
// main.cf names (cli/certificate_expiry.hpp). Works with the suite stopped: then the master part
// says so and the rest is read from the disk as usual. Runs in the `postern` command. Trusts
// main.cf; treats the state file, queue files and defer/ files as possibly damaged or stale
// (each problem is a line in the report, never a crash). Bounded: the state file and defer/
// files are read with their limits; at most kMaxOldestCandidates queue files are opened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/certificate_expiry.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/queue/master_state.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::cli {

inline constexpr size_t kMaxOldestCandidates = 16;
// The folders counted, in the order shown.
inline constexpr const char* kStatusQueueFolders[] = {"incoming", "active", "deferred",
                                                      "hold",     "maildrop", "corrupt"};

struct QueueFolderCount {
  std::string folder;
  int64_t messages = 0;  // files not starting with '.' (temporary files do)
  std::string error;     // the folder could not be read (then messages is meaningless)
};

struct OldestDeferred {
  std::string queue_id;
  int64_t arrival_time = 0;  // Unix seconds, from the queue file
  std::vector<DeferReason> reasons;  // from defer/ID; empty when qmgr wrote none
};

struct StatusReport {
  int64_t now = 0;
  bool master_running = false;
  int64_t master_pid = 0;
  std::string master_problem;  // why it is not running ("no pid file"...)
  // Present when the running master published a state that is its own.
  std::optional<MasterState> state;
  std::string state_problem;  // running, but no usable state: why
  std::vector<QueueFolderCount> queue;
  std::optional<OldestDeferred> oldest_deferred;
  std::vector<CertificateFile> certificates;
};

StatusReport gather_status(const MainConfig& config, const std::string& config_dir);

// 0 running and every service up, 1 running with a service throttled (or its state unknown),
// 4 (kExitNotRunning) not running.
int status_exit_code(const StatusReport& report);

}  // namespace postern::cli
