// `postern log reopen`: after logrotate (or the admin) has renamed maillog_file, asks the running
// postern-master to open it again (SIGUSR1; master hands the new file to every worker, see
// master/maillog.hpp), then waits until master and each of its workers write to the file now at
// the path, so that the renamed file may be compressed or removed at once without losing a line.
// Runs as the `postern` command, as root or as the user master runs as (whoever may signal it).
// Trusts main.cf; reads the pid file and /proc, checking that the pid is a postern-master before
// signalling it (a stale pid file must not make us signal a stranger). Bounded: the wait
// (kReopenTimeoutMs), each /proc file read (kMaxProcFileBytes).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern {

inline constexpr int kReopenTimeoutMs = 10000;

// The parent PID in /proc/PID/stat text ("4 (name) S 1 ..."; the name may hold spaces and
// parentheses), or -1 when the text does not have that shape.
pid_t parent_pid_from_stat(std::string_view stat_text);

// Children of parent that are running (not zombies), from /proc.
std::vector<pid_t> child_processes(pid_t parent);

// Those of pids whose stderr (fd 2) is not the file now at path. A process that has gone is
// not listed; one whose descriptors we may not see is.
std::vector<pid_t> stderr_elsewhere(const std::vector<pid_t>& pids, const std::string& path);

// The whole command; returns the line to print on success ("postern: log reopen: ...").
Result<std::string> reopen_log(const MainConfig& config, int timeout_ms = kReopenTimeoutMs);

}  // namespace postern
