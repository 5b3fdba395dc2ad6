// The local recipient table of postern-smtpd and postern-submission (Postfix's
// local_recipient_maps): which local parts of a mydestination domain exist, so that mail from
// the network for root@host.example or an /etc/aliases name is accepted at RCPT and mail for a
// user who does not exist is refused there (550 5.1.1) instead of bounced later (backscatter).
// Only asked for a domain that is in mydestination and not a domain of the accounts file
// (rcpt_command.cpp decides that). The answer comes from:
//   unix:passwd.byname  the system users (getpwnam_r; /etc/passwd is readable by mail_owner)
//   a table of alias_maps  the keys of the alias table master compiles
//                          (lookup_table_db_dir(data_directory, "alias_maps"), as postern-local
//                          reads it: all of alias_maps' tables merged)
//   postmaster          always (RFC 5321 4.5.1)
// An empty local_recipient_maps accepts every local part (as in Postfix); any other entry is a
// configuration error naming it (lib/store/local_recipient_maps): master refuses such a main.cf,
// and smtpd refuses to start with one that a master.cf -o gave it.
//
// Trusts the admin's config. The local part comes from the network: it is bounded
// (kMaxLocalPartBytes; longer or with a control or NUL byte is simply unknown), lower-cased, and
// the recipient_delimiter extension removed (alice+tag -> alice, after alice+tag itself). The
// passwd buffer grows on ERANGE up to kMaxPasswdBufferBytes. A lookup that fails is an error
// (the caller answers 451), never a yes. getpwnam_r runs in the event loop: with the files
// service it is a read of /etc/passwd; a slow network name service delays the sessions of this
// process while it answers (Postfix puts proxymap in between; we do not yet).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/store/lookup_table.hpp"

namespace postern::smtpd {

inline constexpr size_t kInitialPasswdBufferBytes = 16 * 1024;
inline constexpr size_t kMaxPasswdBufferBytes = 1024 * 1024;

// local_recipient_maps, mydestination and recipient_delimiter as smtpd needs them.
struct LocalRecipientSettings {
  std::vector<std::string> mydestination;  // lower-cased, $-expanded
  std::string recipient_delimiter;         // any one of these characters starts an extension
  bool any_local_part = false;             // local_recipient_maps is empty: every local part exists
  bool system_users = false;               // unix:passwd.byname is named
  bool aliases = false;                    // a table of alias_maps is named
  std::string alias_db_dir;                // the compiled alias_maps
};

// Reads the three parameters. local_recipient_maps is read by
// lib/store/local_recipient_maps (as master checks it): an entry that is neither
// unix:passwd.byname (or proxy:unix:passwd.byname) nor one of alias_maps' tables (compared as
// files: hash:/etc/aliases = lmdb:/etc/aliases = /etc/aliases) is a kConfig error naming it.
Result<LocalRecipientSettings> load_local_recipient_settings(const MainConfig& config);

// Does this name have a passwd entry? nullopt-free: true / false, or an error when the
// lookup itself failed (I/O, NSS service down, an entry larger than kMaxPasswdBufferBytes).
using SystemUserLookup = std::function<Result<bool>(const std::string& name)>;
Result<bool> find_system_user(const std::string& name);

class LocalRecipients {
 public:
  // Opens the compiled alias table when settings.aliases. An alias table that cannot be opened
  // does not stop smtpd (the accounts' domains keep working): open_problem() says why, and a
  // local part that only the aliases could confirm gets an error (451) until a restart.
  static LocalRecipients open(LocalRecipientSettings settings,
                              SystemUserLookup system_user = find_system_user);

  // domain (an address's domain; compared lower-cased) is one of mydestination.
  bool is_local_domain(std::string_view domain) const;
  // The local part (as the address parser gave it) names a recipient of this host.
  Result<bool> exists(std::string_view local_part) const;

  const LocalRecipientSettings& settings() const { return settings_; }
  // Why the alias table could not be opened ("" when it was, or is not needed).
  const std::string& open_problem() const { return open_problem_; }

  LocalRecipients(LocalRecipients&&) noexcept = default;
  LocalRecipients& operator=(LocalRecipients&&) noexcept = default;

 private:
  LocalRecipients(LocalRecipientSettings settings, SystemUserLookup system_user)
      : settings_(std::move(settings)), system_user_(std::move(system_user)) {}

  LocalRecipientSettings settings_;
  SystemUserLookup system_user_;
  std::optional<LookupTable> aliases_;
  std::string open_problem_;
};

// What smtpd's and submission's main() call while still root: the settings (a configuration
// error is fatal, naming the entry), the table opened, and a warning for what an admin should
// hear about (an alias table that could not be opened; an empty local_recipient_maps).
LocalRecipients open_local_recipients_or_exit(const MainConfig& config);

}  // namespace postern::smtpd
