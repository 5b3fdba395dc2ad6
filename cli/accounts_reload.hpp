// After the accounts file changed: asks a running postern-master to reload (SIGHUP, through
// master_process.hpp) and waits until the accounts in LMDB ($data_directory/accounts) carry the
// fingerprint of what was written (lib/auth/accounts.hpp's accounts_fingerprint), so that the
// command returns only once smtpd, submission, imapd and delivery see the change. Runs in the
// `postern` command; reads LMDB read-only; the wait is bounded by kAccountsReloadWaitMs.
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/auth/accounts.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::cli {

inline constexpr int kAccountsReloadWaitMs = 15000;

enum class ReloadOutcome {
  kLoaded,      // master reloaded and LMDB holds exactly the new data
  kNotRunning,  // no postern-master: the file is read at its next start
  kNotSeen,     // signalled, but LMDB did not show the new data in time (a refused reload?)
  kFailed,      // the signal could not be sent (detail says why)
};

struct ReloadReport {
  ReloadOutcome outcome = ReloadOutcome::kFailed;
  pid_t master_pid = 0;
  std::string detail;
};

ReloadReport reload_accounts(const MainConfig& config, const AccountsData& written,
                             int wait_ms = kAccountsReloadWaitMs);

}  // namespace postern::cli
