// Everything master reads from CONFIG_DIR, as one snapshot: main.cf, master.cf and the accounts
// file, each checked. Loaded at start (an error is fatal) and on SIGHUP (an error keeps the
// old snapshot running). Process: master. Trusts the admin's files only as far as their
// parsers check them; every error names file:line.
#pragma once

#include <string>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/config/master_cf.hpp"
#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"
#include "master/mail_owner.hpp"

namespace postern::master {

struct MasterConfig {
  std::string config_dir;  // absolute
  MainConfig main;
  std::vector<ServiceEntry> services;
  AccountsData accounts;
  MailOwner owner;
  // The main.cf text checked here, in a sealed memfd: workers read it on fd 5 (-m), so one
  // started after a refused reload runs this configuration, not the broken file.
  UniqueFd main_cf_snapshot;
  std::vector<ConfigWarning> warnings;  // unknown main.cf names and similar: logged, not fatal
};

// Reads CONFIG_DIR/main.cf (config_directory set to CONFIG_DIR), CONFIG_DIR/master.cf and
// $accounts_file, and resolves mail_owner.
Result<MasterConfig> load_master_config(const std::string& config_dir);

// $daemon_directory/postern-<command>, or the command itself when it is an absolute path.
std::string program_path(const MainConfig& config, const ServiceEntry& service);

}  // namespace postern::master
