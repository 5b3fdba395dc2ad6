// Builds the Received: header for postern-smtpd, in Postfix's shape so that log and header
// readers written for Postfix understand it. The HELO name is client text: non-printable bytes
// become '?' and it is cut at kMaxHeloBytes.
#include "smtpd/received_header.hpp"

#include "lib/queue/dsn.hpp"
#include "lib/base/log.hpp"

namespace postern::smtpd {
namespace {

constexpr size_t kMaxHeloBytes = 255;

}  // namespace

std::string received_protocol(bool esmtp, bool tls, bool authenticated, bool utf8) {
  if (utf8) {  // RFC 6531 section 3.7.7: UTF8SMTP, UTF8SMTPA, UTF8SMTPS, UTF8SMTPSA
    return std::string("UTF8SMTP") + (tls ? "S" : "") + (authenticated ? "A" : "");
  }
  if (!esmtp) return "SMTP";
  return std::string("ESMTP") + (tls ? "S" : "") + (authenticated ? "A" : "");
}

std::string received_header(const ReceivedInfo& info) {
  std::string helo =
      info.helo.empty() ? std::string(info.client_name) : log::printable(info.helo, kMaxHeloBytes);
  std::string header = fmt::format("Received: from {} ({} [{}])\r\n\tby {} (Postern) with {} id {}",
                                   helo, info.client_name, info.client_address, info.hostname,
                                   info.protocol, info.queue_id);
  if (!info.tls_description.empty()) {
    header += fmt::format("\r\n\t(using {})", info.tls_description);
  }
  header += "\r\n\t";
  if (!info.single_recipient.empty()) {
    header += fmt::format("for <{}>; ", info.single_recipient);
  }
  header += rfc5322_date(static_cast<int64_t>(info.when));  // UTC, as lib/queue/dsn writes it
  header += "\r\n";
  return header;
}

}  // namespace postern::smtpd
