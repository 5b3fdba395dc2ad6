// The lookup tables master compiles into LMDB ($data_directory/maps/<parameter>) for the daemons:
// transport_maps (qmgr, relay), smtp_sasl_password_maps (relay), smtpd_sender_login_maps
// (submission) and alias_maps (local; aliases(5) text). Process: master, at start and on SIGHUP, right beside the accounts load. Trusts
// the admin's table files as far as lib/store/lookup_table checks them; never logs a table value.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lib/store/lookup_table.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"
#include "master/mail_owner.hpp"

namespace postern::master {

// Every parameter whose tables master compiles.
inline constexpr const char* kLookupTableParameters[] = {
    "transport_maps", "smtp_sasl_password_maps", "smtpd_sender_login_maps", "alias_maps"};

// parameter -> its merged entries, read and checked but not yet built.
using CheckedLookupTables = std::vector<std::pair<std::string, LookupEntries>>;

// Reads and checks every table of every parameter above, changing nothing: called before the
// accounts go into LMDB, so that a broken table refuses the start or the reload as a whole.
Result<CheckedLookupTables> read_lookup_tables_for_master(const MainConfig& config);

// Builds each one (an empty table for an empty parameter) and gives it to mail_owner.
Status install_lookup_tables(const CheckedLookupTables& tables, const MainConfig& config,
                             const MailOwner& owner);

}  // namespace postern::master
