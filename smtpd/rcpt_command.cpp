// RCPT TO policy for postern-smtpd (see rcpt_command.hpp). One read-only LMDB transaction per
// recipient (inside AccountsDb::resolve); a lookup failure is a temporary 451, never an accept.
#include "smtpd/rcpt_command.hpp"

#include <algorithm>

namespace postern::smtpd {
namespace {

bool is_relay_domain(const SmtpdSettings& settings, const std::string& domain) {
  return std::find(settings.relay_domains.begin(), settings.relay_domains.end(), domain) !=
         settings.relay_domains.end();
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
