// `postern setup`: writes main.cf (and the mail name, the relay login, the local mode's
// transport table) for one of the four kinds of mail system of cli/setup_modes.hpp, then checks
// the whole configuration with postern-master -t and reloads a running postern-master.
// Non-interactive and idempotent: what the Debian package's postinst runs with the debconf
// answers, and what an admin runs by hand. Runs in the `postern` command, as root for
// /etc/postern. Inputs are checked by setup_cli.cpp and setup_modes.cpp before they get here;
// main.cf is the admin's file, edited in place (cli/main_cf_editor.hpp), never half-written
// (cli/config_file_writer.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/invocation.hpp"
#include "cli/setup_modes.hpp"

namespace postern::cli {

struct SetupOptions {
  SetupMode mode = SetupMode::kInternet;
  std::vector<std::string> domains;       // normalized
  std::optional<std::string> mailname;    // normalized; nullopt: the file's, else the FQDN
  std::string relayhost;                  // normalized; "" unless smarthost or satellite
  std::optional<std::string> relay_user;  // checked; with relay_password
  std::optional<std::string> relay_password;
  std::string listen;  // an inet_interfaces value; "" = the mode's
  bool dry_run = false;
};

// Everything after option parsing; returns the exit status (cli/exit_codes.hpp).
int run_setup_command(const Invocation& invocation, const SetupOptions& options);

// The host's fully qualified name (gethostname, then its canonical name when that has a dot),
// lower-cased; "localhost" when there is nothing usable.
std::string host_fqdn();

}  // namespace postern::cli
