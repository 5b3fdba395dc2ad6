// The running postern-master as the `postern` command finds it: through the pid file master
// keeps ($queue_directory/pid/master.pid) and /proc, checking that the pid is a postern-master
// before anything signals it (a stale pid file must not make us signal a stranger). Used by the
// subcommands that reload master (config set, user/alias/domain), that reopen the log, and that
// report its state (status). Runs in the `postern` command, as root or the user master runs as.
// Bounded: each /proc file read is at most kMaxProcFileBytes.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::cli {

inline constexpr size_t kMaxProcFileBytes = 64 * 1024;

// A /proc file (st_size is 0 there, so read until EOF), at most kMaxProcFileBytes.
Result<std::string> read_proc_file(const std::string& path);

// A decimal process ID (surrounding blanks and a newline allowed), or nullopt.
std::optional<pid_t> parse_pid(std::string_view text);

// The pid in the pid file, when that process is a running postern-master (argv[0] of
// /proc/PID/cmdline ends in "postern-master"); else a kTemporary error saying it is not
// running (exit status kExitNotRunning through report_failure).
Result<pid_t> running_master(const std::string& pid_file);

// The running master of this configuration, or the error of running_master.
Result<pid_t> running_master(const MainConfig& config);

// SIGHUP to the running master: it reads main.cf, master.cf, the accounts file and the lookup
// tables again (what `systemctl reload postern` does). Returns master's pid.
Result<pid_t> reload_master(const MainConfig& config);

}  // namespace postern::cli
