// $queue_directory/pid/master.state: what postern-master publishes about its services for
// `postern status` (Postfix has no such file; its master answers nothing). Written by master
// (root or the user it runs as) through a temporary name and rename each time a service starts,
// loses a worker, is throttled or comes back; removed when master stops. Read by the `postern`
// command, which trusts it only after checking that the pid in it is the running master (a file
// left by a master that was killed is stale) and which treats its text as possibly damaged.
//
// Format, text, one record a line, fields separated by TAB, each field "key=value":
//   postern-master-state 1
//   master  pid=812  started=1733551200  updated=1733551260  config=/etc/postern
//   service name=smtp  command=smtpd  listen=inet 0.0.0.0:25  state=up  workers=1
//           max_processes=1  crashes=0  last_exit=killed by signal 9  last_exit_at=1733551250
//           throttled_until=0
//   end
// Times are Unix seconds (0: never). state is "up", "throttled" or "waiting" (for the workers of
// the previous generation to leave, after a reload). Values are printable ASCII (anything else
// written as '?', no TAB), each cut to kMaxStateFieldBytes. Unknown keys are ignored, so later
// versions may add fields. Limits: kMaxStateFileBytes, kMaxStateServices.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxStateFileBytes = 512 * 1024;
inline constexpr size_t kMaxStateServices = 1000;
inline constexpr size_t kMaxStateFieldBytes = 400;
inline constexpr std::string_view kMasterStateVersionLine = "postern-master-state 1";

struct ServiceState {
  std::string name;     // master.cf service name: "smtp", "127.0.0.1:2525", "qmgr"
  std::string command;  // master.cf command: "smtpd", "/bin/false"
  std::string listen;   // the listener: "inet 127.0.0.1:2525", "unix /var/spool/.../qmgr"
  std::string state = "up";  // "up", "throttled", "waiting"
  int64_t workers = 0;       // running now
  int64_t max_processes = 0;
  int64_t crashes = 0;       // consecutive unexpected exits in the current streak
  std::string last_exit;     // "killed by signal 9", "exit status 1", "cannot execute ...", ""
  int64_t last_exit_at = 0;
  int64_t throttled_until = 0;  // with state "throttled": no new worker before this
};

struct MasterState {
  int64_t pid = 0;
  int64_t started = 0;
  int64_t updated = 0;
  std::string config_dir;
  std::vector<ServiceState> services;
};

// "$queue_directory/pid/master.state"
std::string master_state_path(const std::string& queue_directory);

std::string format_master_state(const MasterState& state);
// Strict about the frame (version line first, "end" last, nothing after it, the master record
// once), lenient about unknown keys; errors are kParse or kLimit.
Result<MasterState> parse_master_state(std::string_view text);

// Writes path through "path.tmp" (created O_EXCL|O_NOFOLLOW, mode 0644; a stale one is
// removed first) and rename(2). No fsync: the file is news, not data, and master's loop must not
// wait on the disk; after a crash the CLI sees a stale pid and says so.
Status write_master_state(const std::string& path, const MasterState& state);

}  // namespace postern
