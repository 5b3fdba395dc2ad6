// Reloading master after an accounts edit and waiting for LMDB to show it (accounts_reload.hpp).
#include "cli/accounts_reload.hpp"

#include <time.h>

#include <chrono>
#include <optional>

#include "cli/master_process.hpp"

namespace postern::cli {
namespace {

constexpr int kPollIntervalMs = 50;

// The fingerprint LMDB holds now, or nullopt when it cannot be read (yet).
std::optional<std::string> stored_fingerprint(const std::string& db_dir) {
  Result<AccountsDb> db = AccountsDb::open(db_dir, true);
  if (!db) return std::nullopt;
  Result<std::optional<std::string>> stored = db->fingerprint();
  if (!stored || !stored->has_value()) return std::nullopt;
  return **stored;
}

}  // namespace

ReloadReport reload_accounts(const MainConfig& config, const AccountsData& written, int wait_ms) {
  ReloadReport report;
  Result<pid_t> master = reload_master(config);
  if (!master) {
    report.outcome = master.error().kind == ErrorKind::kTemporary ? ReloadOutcome::kNotRunning
                                                                  : ReloadOutcome::kFailed;
    report.detail = master.error().describe();
    return report;
  }
  report.master_pid = *master;
  const std::string wanted = accounts_fingerprint(written);
  const std::string db_dir = config.get("data_directory") + "/accounts";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    if (stored_fingerprint(db_dir) == wanted) {
      report.outcome = ReloadOutcome::kLoaded;
      return report;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    timespec pause{0, kPollIntervalMs * 1000000L};
    ::nanosleep(&pause, nullptr);
  }
  report.outcome = ReloadOutcome::kNotSeen;
  report.detail = "the accounts in " + db_dir + " did not change within " +
                  std::to_string(wait_ms / 1000) + " s";
  return report;
}

}  // namespace postern::cli
