// The four kinds of mail system `postern setup` writes, as Debian's exim4 and postfix packages
// name them, and the main.cf settings each one sets. Pure decisions: no file is read or written
// here (cli/setup_command.cpp does that), so tests/cli/setup_modes_test.cpp checks every row.
//
//   internet   mail from anywhere (all interfaces) for our domains: the accounts file's, and
//              the system users and aliases of mydestination (smtpd checks those against
//              local_recipient_maps); mail out straight to each domain's MX.
//   smarthost  the same, but mail out through --relayhost (AUTH with --relay-user).
//   satellite  no mail from the network (loopback only); only localhost is delivered here, and
//              everything else, root's cron mail to root@<mailname> included, goes to
//              --relayhost.
//   local      loopback only; mail for the local system users and the accounts' domains only;
//              mail for any other domain bounces (5.1.1) and nothing leaves the machine.
//
// No mode trusts any network for relaying: mynetworks is empty in all four.
//
// Runs in the `postern` command. Everything here comes from its command line (the admin's, or
// debconf's answers): each value is checked (length, characters, ports) before it reaches a
// setting, and a value that does not pass is an error, never written.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::cli {

enum class SetupMode { kInternet, kSmarthost, kSatellite, kLocal };

inline constexpr size_t kMaxDomainBytes = 253;
inline constexpr size_t kMaxSetupDomains = 100;
inline constexpr size_t kMaxListenAddresses = 32;
inline constexpr size_t kMaxRelayUserBytes = 256;
// As the shared password reader takes (cli/password_prompt.hpp, kMaxPasswordBytes).
inline constexpr size_t kMaxRelayPasswordBytes = 511;

struct ModeInfo {
  SetupMode mode;
  std::string_view name;     // "internet"
  std::string_view summary;  // one line for --help and the comment block
  bool needs_relayhost;      // smarthost, satellite
  bool loopback_only;        // satellite, local: inet_interfaces = loopback-only
  bool hostname_is_local;    // $myhostname and the mail name are delivered here
  bool nothing_leaves;       // local: every address routed to local delivery
};

const ModeInfo& mode_info(SetupMode mode);
std::optional<SetupMode> parse_setup_mode(std::string_view name);

// A domain or host name: labels of letters, digits and '-', at most 63 bytes each, at most
// kMaxDomainBytes in all, no empty label; a trailing dot is dropped. Lower-cased.
Result<std::string> normalize_domain(std::string_view text);
// HOST, HOST:PORT, [HOST] or [HOST]:PORT (HOST a name, an IPv4 address, or inside brackets an
// IPv6 address) -> "[host]" or "[host]:port": a smart host is used as named, without an MX
// lookup, as exim4's and Postfix's Debian setups do.
Result<std::string> normalize_relayhost(std::string_view text);
// --listen: "all", "loopback" (or "loopback-only"), or a comma-separated list of IPv4/IPv6
// addresses -> the inet_interfaces value.
Result<std::string> normalize_listen(std::string_view text);
// The relay login (from the command line) and password (from stdin): one line each, no
// control characters; the user has no ':' or white space (the table splits "user:password" at
// the first ':'); the password has no white space at either end (the table trims it).
Status check_relay_user(std::string_view user);
Status check_relay_password(std::string_view password);

struct SetupRequest {
  SetupMode mode = SetupMode::kInternet;
  std::vector<std::string> domains;  // normalized, duplicates removed, in order
  std::string mailname;              // normalized
  std::string relayhost;             // normalized; "" for internet and local
  std::string listen;                // an inet_interfaces value, "" = the mode's own
  std::string mailname_file;         // what myorigin names: /etc/mailname or DIR/mailname
  // "texthash:DIR/relay_credentials" when the login is set up (--relay-user), else "".
  std::string credentials_table;
  // smtp_sasl_password_maps as main.cf has it now: a login set up before (or by hand) is still
  // a login, and its smart host must still prove its name (smtp_tls_security_level = verify).
  std::string current_password_maps;
  // "texthash:DIR/transport_local_only": the table the local mode puts first in transport_maps.
  std::string local_only_table;
  // transport_maps as main.cf has it now (raw), so the admin's own tables are kept.
  std::string current_transport_maps;
};

struct Setting {
  std::string name;
  std::string value;
  // An empty value is written only where main.cf already sets the name (transport_maps: no
  // "transport_maps =" line appears in a file that never had one).
  bool skip_empty_when_unset = false;
};

// The settings, in the order they are written. smtp_sasl_password_maps only when
// credentials_table is set (setup without --relay-user leaves an admin's table alone).
std::vector<Setting> mode_settings(const SetupRequest& request);

// The transport table of the local mode: one "*  local:" entry, so that qmgr hands every
// address to local delivery, which takes our accounts' domains and mydestination and bounces
// the rest as not ours (5.1.1). Postern has no default_transport = error as Postfix's
// local-only setup uses; this is the nearest setting that keeps every mail on the machine.
std::string local_only_transport_text();

// "[host]:port user:password\n", as smtp_sasl_password_maps reads it.
std::string relay_credentials_text(std::string_view relayhost, std::string_view user,
                                   std::string_view password);

inline constexpr std::string_view kModeBlockBegin =
    "# ---- postern setup: the kind of mail system (rewritten by each run of postern setup) ----";
// Heads the settings postern setup appends to a main.cf that did not have them.
inline constexpr std::string_view kAppendedHeader =
    "# ---- Set by postern setup (postern(8)); change them with postern setup or postern config "
    "set ----";
inline constexpr std::string_view kModeBlockEnd = "# ---- end of postern setup's note ----";

// The comment block at the top of main.cf that says which mode wrote it and what that means.
std::string mode_comment_block(const SetupRequest& request);

}  // namespace postern::cli
