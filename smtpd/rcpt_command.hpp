// RCPT TO for postern-smtpd: the recipient check at RCPT time. A domain of the accounts file:
// the address must resolve in the accounts database (AccountsDb::resolve: users, aliases,
// plus-addressing, catch-alls, postmaster) or 550 5.1.1. A domain of mydestination (the system
// users of this host, delivered by postern-local): the local part must be in the local recipient
// table (local_recipients.hpp: passwd, the alias table, postmaster) or 550 5.1.1 "User unknown
// in local recipient table", for every client, as Postfix's local_recipient_maps. Any other
// domain: 554 5.7.1 relay refusal unless the domain is in relay_domains or the client is in
// mynetworks (empty by default: loopback is not trusted). A lookup failure is 451 4.3.0, never an
// accept. NOTIFY and ORCPT (RFC 3461) are kept per recipient. Hostile input; bounded by
// smtpd_recipient_limit.
#pragma once

#include <optional>
#include <string>

#include "lib/auth/accounts.hpp"
#include "lib/queue/queue_file.hpp"
#include "lib/smtp/smtp_command.hpp"
#include "smtpd/local_recipients.hpp"
#include "smtpd/smtpd_settings.hpp"

namespace postern::smtpd {

struct RcptContext {
  const SmtpdSettings& settings;
  const AccountsDb& accounts;
  const LocalRecipients& local_recipients;  // mydestination's users
  bool client_trusted = false;              // in mynetworks
  size_t recipients_so_far = 0;             // accepted in this transaction
};

struct RcptDecision {
  std::optional<QueueRecipient> accepted;
  std::string reply;  // the whole reply line (no CRLF)
};

RcptDecision check_rcpt_command(const SmtpCommand& command, const RcptContext& context);

}  // namespace postern::smtpd
