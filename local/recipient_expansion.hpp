// Where mail for one local address goes, as Postfix's local(8) decides it: the aliases
// (alias_maps, "user+ext" then "user"), else the system user (the passwd database, the local
// part lower-cased and without its extension) with that user's ~/.forward, else postmaster and
// root fall back to root, else "unknown user" (5.1.1). Targets are expanded recursively:
// addresses of mydestination again (at most kMaxExpansionDepth levels, each address once per
// recipient), "\user" to that user's own mailbox, other domains forwarded (a new queue file),
// ":include:/file" read and expanded, "|command" and "/file" allowed only where
// allow_mail_to_commands / allow_mail_to_files name the source ("alias", "forward", "include").
// An alias NAME with an alias owner-NAME beside it sends its deliveries with owner-NAME@domain
// as the sender, so that bounces reach the list's owner.
// A recipient already named in a Delivered-To: header of the message is a forwarding loop
// (5.4.6). Runs in postern-local as root, reading only: the alias table, ~/.forward and
// include files are opened without following a symlink and used only when they are plain
// files owned by the user they belong to (root for /etc/aliases includes), not writable by
// group or others, and under their size limits; otherwise they are ignored with a log line.
// Commands and files of /etc/aliases and its includes run with default_privs; those of a
// .forward with its user's rights.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/store/lookup_table.hpp"
#include "local/delivery_outcome.hpp"
#include "local/local_settings.hpp"
#include "local/run_as.hpp"

namespace postern::local {

inline constexpr int kMaxExpansionDepth = 20;
inline constexpr size_t kMaxFinalDeliveries = 1000;

struct FinalDelivery {
  enum class Kind { kMailbox, kCommand, kFile, kForward, kOutcome };
  Kind kind = Kind::kOutcome;
  std::string address;  // the address this delivery is for (Delivered-To:, the log's to=)
  Identity who;         // kMailbox: the user; kCommand / kFile: whose rights
  std::string target;   // kCommand: the command; kFile: the path; kForward: the address
  DeliveryOutcome outcome;  // kOutcome: the result already known (a bounce, a deferral)
  std::string sender;       // an owner-NAME alias's address, else "" (the envelope sender)
};

// The world as expansion sees it; local_delivery passes the real ones, unit tests their own.
struct ExpansionSources {
  // The alias table: the target list for a lower-cased name, nullopt when absent.
  std::function<Result<std::optional<std::string>>(const std::string& name)> find_alias;
  std::function<std::optional<Identity>(const std::string& name)> find_user;
  // The text of a .forward or include file if it may be used (see above); nullopt otherwise.
  std::function<std::optional<std::string>(const std::string& path, uid_t owner)> read_file;
};

// address: "local@domain" with a domain of mydestination. delivered_to: the message's
// Delivered-To: values, lower-cased.
std::vector<FinalDelivery> expand_recipient(const std::string& address,
                                            const LocalSettings& settings,
                                            const ExpansionSources& sources,
                                            const std::set<std::string>& delivered_to);

// The real sources: the compiled alias_maps (may be null: no aliases), getpwnam, and files
// read with the checks above.
ExpansionSources system_sources(const LookupTable* aliases);

}  // namespace postern::local
