// MAIL FROM for postern-smtpd: the ESMTP parameters we advertised (SIZE, BODY, RET, ENVID,
// SMTPUTF8) checked and turned into what the transaction keeps. The command was parsed by
// lib/smtp/smtp_command (syntax); here is policy: the declared SIZE against message_size_limit,
// BODY values we support, AUTH= (submission only, accepted and ignored), and 555 for anything we
// did not advertise. Hostile input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/smtp/smtp_command.hpp"
#include "smtpd/smtpd_settings.hpp"

namespace postern::smtpd {

struct MailRequest {
  std::string sender;     // "" for <>
  bool utf8 = false;      // SMTPUTF8
  std::string body;       // "7BIT", "8BITMIME" or "" (not given)
  std::string dsn_ret;    // "FULL", "HDRS" or ""
  std::string dsn_envid;  // RFC 3461 ENVID as given (xtext), or ""
  uint64_t declared_size = 0;
};

struct MailDecision {
  std::optional<MailRequest> accepted;
  std::string reply;  // the whole reply line (no CRLF)
};

MailDecision check_mail_command(const SmtpCommand& command, const SmtpdSettings& settings);

}  // namespace postern::smtpd
