// The Received: trace header smtpd prepends to every message (RFC 5321 4.4, RFC 6531 / 3848
// protocol names). Run by postern-smtpd. The HELO name comes from the client: it is made
// printable and cut before it goes into the header.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace postern::smtpd {

struct ReceivedInfo {
  std::string_view helo;            // as the client sent it ("" when none)
  std::string_view client_name;     // "unknown" (no reverse DNS yet)
  std::string_view client_address;  // "192.0.2.1" or "2001:db8::1"
  std::string_view hostname;        // myhostname
  std::string_view protocol;        // from received_protocol()
  std::string_view queue_id;
  std::string_view tls_description;   // "TLSv1.3 with cipher ... (256/256 bits)", "" when plain
  std::string_view single_recipient;  // set only when the message has exactly one recipient
  std::time_t when = 0;
};

// SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, or the UTF8SMTP forms when SMTPUTF8 was used.
std::string received_protocol(bool esmtp, bool tls, bool authenticated, bool utf8);
// The whole header, folded, each line ending in CRLF.
std::string received_header(const ReceivedInfo& info);

}  // namespace postern::smtpd
