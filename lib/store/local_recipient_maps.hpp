// local_recipient_maps (Postfix's parameter): which tables say who exists at a domain of
// mydestination. Read here, without any lookup, so that postern-master checks the value at
// start, on reload and for `postern-master -t` (a mistake refuses the configuration, naming the
// entry), and smtpd and submission read it the same way at their start
// (smtpd/local_recipients.hpp does the lookups). Trusted input (the admin's main.cf), bounded by
// kMaxLookupTables entries.
//
// Supported entries: unix:passwd.byname (also proxy:unix:passwd.byname, as Postfix admins
// write it): the system users; and any table that alias_maps names, compared as the file it
// names (hash:/etc/aliases = lmdb:/etc/aliases = /etc/aliases). Empty: every local part exists.
#pragma once

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern {

struct LocalRecipientMaps {
  bool any_local_part = false;  // the value is empty: every local part exists (no check)
  bool system_users = false;    // unix:passwd.byname is named
  bool aliases = false;         // a table of alias_maps is named (the compiled alias_maps)
};

// Errors (kConfig) name the parameter and the entry: "local_recipient_maps: unsupported table
// "mysql:/etc/x.cf" (supported: unix:passwd.byname and the tables of alias_maps)".
Result<LocalRecipientMaps> parse_local_recipient_maps(const MainConfig& config);

}  // namespace postern
