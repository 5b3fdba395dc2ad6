// `postern config check` and the check at the end of `postern setup`: runs
// `postern-master -c DIR -t`, the very check postern-master makes before it starts or reloads
// (main.cf, master.cf, the accounts file, the lookup tables, the listeners, the TLS cipher
// list), rather than a second copy of it here: that code lives in master/, the CLI may depend
// on lib/ only, and running the same program guarantees the same verdict as a start.
// The program is $daemon_directory/postern-master, or, when that is not there (a build tree,
// a test's configuration), the postern-master beside this `postern` binary. Runs in the
// `postern` command; the child's output is bounded (kMaxCheckOutputBytes, the rest dropped).
#pragma once

#include <string>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::cli {

inline constexpr size_t kMaxCheckOutputBytes = 64 * 1024;

struct MasterCheck {
  std::string program;  // the postern-master that ran
  int exit_status = 0;  // 0: usable
  std::string output;   // its stdout and stderr, in order
};

// config: main.cf as read (for daemon_directory); config_dir: absolute.
Result<MasterCheck> run_master_check(const MainConfig& config, const std::string& config_dir);

// config_dir made absolute (against the working directory) without trailing '/'.
std::string absolute_config_dir(const std::string& config_dir);

}  // namespace postern::cli
