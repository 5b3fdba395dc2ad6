// MAIL FROM policy for postern-smtpd (see mail_command.hpp). Every parameter keyword has been
// checked for syntax by the parser; values are bounded (kMaxEsmtpValueBytes).
#include "smtpd/mail_command.hpp"

#include <charconv>

namespace postern::smtpd {

MailDecision check_mail_command(const SmtpCommand& command, const SmtpdSettings& settings) {
  MailDecision decision;
  MailRequest request;
  for (const EsmtpParam& param : command.params) {
    const std::string value = param.value.value_or("");
    if (param.keyword == "SIZE") {
      uint64_t size = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
      if (ec != std::errc() || end != value.data() + value.size()) {
        decision.reply = "501 5.5.4 Bad SIZE parameter syntax";
        return decision;
      }
      if (settings.message_size_limit != 0 && size > settings.message_size_limit) {
        decision.reply = "552 5.3.4 Message size exceeds fixed limit";
        return decision;
      }
      request.declared_size = size;
    } else if (param.keyword == "BODY") {
      if (value != "7BIT" && value != "8BITMIME") {
        decision.reply = "555 5.5.4 Unsupported option: BODY=" + value;
        return decision;
      }
      request.body = value;
    } else if (param.keyword == "RET") {
      request.dsn_ret = value;
    } else if (param.keyword == "ENVID") {
      request.dsn_envid = value;
    } else if (param.keyword == "SMTPUTF8") {
      request.utf8 = true;
    } else if (param.keyword == "AUTH" && settings.submission) {
      // RFC 4954 section 5: the identity a client claims for a message it relays. Ours are
      // end users: the parameter is accepted (its syntax was checked) and not used.
    } else {
      decision.reply = "555 5.5.4 Unsupported option: " + param.keyword;
      return decision;
    }
  }
  request.sender = command.address.to_string();
  decision.accepted = std::move(request);
  decision.reply = "250 2.1.0 Ok";
  return decision;
}

}  // namespace postern::smtpd
