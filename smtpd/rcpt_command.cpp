// RCPT TO policy for postern-smtpd (see rcpt_command.hpp). One read-only LMDB transaction per
// recipient (inside AccountsDb::resolve), and for a mydestination domain the local recipient
// lookups (passwd, alias table); a lookup failure is a temporary 451, never an accept.
#include "smtpd/rcpt_command.hpp"

#include <algorithm>

#include "lib/base/log.hpp"

namespace postern::smtpd {
namespace {

bool is_relay_domain(const SmtpdSettings& settings, const std::string& domain) {
  return std::find(settings.relay_domains.begin(), settings.relay_domains.end(), domain) !=
         settings.relay_domains.end();
}

// Sender-specified routing in a local part: user%other@ours, other!user@ours, "user@other"@ours.
// A later hop (or an old MTA behind us) that rewrites such a local part would relay the mail,
// so an untrusted client may not use it, as Postfix's allow_untrusted_routing = no.
bool has_sender_routing(const std::string& local_part) {
  return local_part.find_first_of("@%!") != std::string::npos;
}

}  // namespace

RcptDecision check_rcpt_command(const SmtpCommand& command, const RcptContext& context) {
  RcptDecision decision;
  if (context.recipients_so_far >= context.settings.recipient_limit) {
    decision.reply = "452 4.5.3 Error: too many recipients";
    return decision;
  }
  QueueRecipient recipient;
  for (const EsmtpParam& param : command.params) {
    if (param.keyword == "NOTIFY") {
      recipient.notify = param.value.value_or("");
    } else if (param.keyword == "ORCPT") {
      recipient.orcpt = param.value.value_or("");
    } else {
      decision.reply = "555 5.5.4 Unsupported option: " + param.keyword;
      return decision;
    }
  }
  recipient.address = command.address.to_string();
  const std::string& address = recipient.address;
  if (!context.client_trusted && has_sender_routing(command.address.local_part)) {
    decision.reply = "554 5.7.1 <" + address + ">: Relay access denied";
    return decision;
  }

  Result<Resolution> resolution =
      context.accounts.resolve(address, context.settings.recipient_delimiter);
  if (!resolution) {
    decision.reply = "451 4.3.0 <" + address + ">: Temporary lookup failure";
    return decision;
  }
  if (resolution->ours) {
    if (!resolution->known) {
      decision.reply = "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown";
      return decision;
    }
  } else if (context.local_recipients.is_local_domain(command.address.domain)) {
    Result<bool> exists = context.local_recipients.exists(command.address.local_part);
    if (!exists) {
      log::warning("local recipient lookup for <{}> failed: {}", log::printable(address),
                   exists.error().describe());
      decision.reply = "451 4.3.0 <" + address + ">: Temporary lookup failure";
      return decision;
    }
    if (!*exists) {
      decision.reply = "550 5.1.1 <" + address +
                       ">: Recipient address rejected: User unknown in local recipient table";
      return decision;
    }
  } else if (!context.client_trusted &&
             !is_relay_domain(context.settings, command.address.domain)) {
    decision.reply = "554 5.7.1 <" + address + ">: Relay access denied";
    return decision;
  }
  decision.accepted = std::move(recipient);
  decision.reply = "250 2.1.5 Ok";
  return decision;
}

}  // namespace postern::smtpd
