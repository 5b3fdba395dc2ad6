// Which sender addresses an authenticated login owns, for postern-submission (MAIL FROM and
// every From: address; the session engine asks through smtpd::SenderOwnership). An address is
// owned when AccountsDb::may_send_as says so (the user's own address and its plus forms, the
// user's send_as list, an alias of ours that names the user directly; never a catch-all), or
// when smtpd_sender_login_maps gives it to this login. Run inside the event loop: LMDB read
// transactions only. The address is the client's (hostile): lookups are bounded by LMDB's key
// size (longer keys are simply absent) and the map's value is the admin's.
//
// smtpd_sender_login_maps (postmap format, compiled by master, opened via lib/store/lookup_table):
//   key   = an address ("sales@example.org"), or "@domain" for every address of that domain;
//   value = the logins that own it, separated by commas and/or white space. A login without
//           '@' gets "@" + smtpd_sasl_local_domain, as at AUTH.
// Lookups, first found wins (as Postfix): the address, the address without its extension
// ("user+ext@d" -> "user@d", recipient_delimiter), then "@domain".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "lib/store/lookup_table.hpp"
#include "smtpd/sender_ownership.hpp"

namespace postern::submission {

// The logins named in one value of smtpd_sender_login_maps, lower-cased, each with
// "@local_domain" added when it has no '@' (and local_domain is not empty).
std::vector<std::string> parse_login_list(std::string_view value, std::string_view local_domain);

class SenderPolicy final : public smtpd::SenderOwnership {
 public:
  // login_maps may be null (smtpd_sender_login_maps empty). Both must outlive this object.
  SenderPolicy(const AccountsDb& accounts, const LookupTable* login_maps,
               std::string recipient_delimiter, std::string local_domain);

  Result<bool> owns(std::string_view login, std::string_view address) const override;

 private:
  Result<bool> owned_by_map(std::string_view login, std::string_view address) const;

  const AccountsDb& accounts_;
  const LookupTable* login_maps_;
  std::string recipient_delimiter_;
  std::string local_domain_;
};

}  // namespace postern::submission
