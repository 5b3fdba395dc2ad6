// Puts the checked accounts file into LMDB ($data_directory/accounts) where smtpd, qmgr and
// delivery read it. Process: master, at start and on SIGHUP. Trusts AccountsData (already
// checked by the YAML loader).
#pragma once

#include "lib/auth/accounts.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"
#include "master/mail_owner.hpp"

namespace postern::master {

// One write transaction: readers see the old set or the new one. When master runs as root the
// LMDB folder and files are given to mail_owner, so that workers can open and lock them.
Status load_accounts_into_lmdb(const AccountsData& accounts, const MainConfig& config,
                               const MailOwner& owner);

}  // namespace postern::master
