// RCPT TO for postern-smtpd: the recipient check at RCPT time. Our domain: the address must
// resolve in the accounts database (AccountsDb::resolve: users, aliases, plus-addressing,
// catch-alls, postmaster) or 550 5.1.1. Any other domain: 554 5.7.1 relay refusal unless the
// domain is in relay_domains or the client is in mynetworks (empty by default: loopback is not
// trusted). NOTIFY and ORCPT (RFC 3461) are kept per recipient. Hostile input; bounded by
// smtpd_recipient_limit.
#pragma once

#include <optional>
#include <string>

#include "lib/auth/accounts.hpp"
#include "lib/queue/queue_file.hpp"
#include "lib/smtp/smtp_command.hpp"
#include "smtpd/smtpd_settings.hpp"

namespace postern::smtpd {

struct RcptContext {
  const SmtpdSettings& settings;
  const AccountsDb& accounts;
  bool client_trusted = false;   // in mynetworks
  size_t recipients_so_far = 0;  // accepted in this transaction
};

struct RcptDecision {
  std::optional<QueueRecipient> accepted;
  std::string reply;  // the whole reply line (no CRLF)
};

RcptDecision check_rcpt_command(const SmtpCommand& command, const RcptContext& context);

}  // namespace postern::smtpd
