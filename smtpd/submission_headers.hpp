// What submission does with the header section of a message once it is complete (RFC 6409
// section 8): every address of every From: field must be owned by the authenticated login (the
// same rule as MAIL FROM, via SenderOwnership); a missing From:, Message-ID: or Date: is added
// just before the end of the header section. Run by postern-submission inside the session
// engine; postern-smtpd never calls it. The header text is the client's (hostile) and already
// bounded by header_size_limit (HeaderSectionCollector); parse_header_section bounds the field
// count and parse_address_list the addresses per field.
//
// Decisions (documented in postern-submission(8)):
//   - header section over header_size_limit: 552 5.3.4, nothing queued;
//   - a header section that does not parse (a line without a colon...): 550 5.6.0;
//   - a From: that cannot be read, or names no mailbox (only a group): 553 5.7.1;
//   - a From: address the login does not own: 553 5.7.1 (the reply names the address);
//   - no From: at all: "From: <envelope sender>" is added, or "From: <login>" when the envelope
//     sender is <>; both are owned by the login, so no identity can be borrowed that way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "smtpd/sender_ownership.hpp"

namespace postern::smtpd {

struct SubmissionHeaderInput {
  std::string_view header_text;      // HeaderSectionCollector::text(): without the empty line
  bool over_limit = false;           // HeaderSectionCollector::over_limit()
  std::string_view login;            // authenticated identity, "user@domain"
  std::string_view envelope_sender;  // MAIL FROM address, "" for <>
  std::string_view queue_id;
  std::string_view hostname;  // myhostname, for the Message-ID
  int64_t now = 0;            // unix seconds, for Date: and the Message-ID
};

struct SubmissionHeaderResult {
  std::string refusal;      // the whole reply line when the message is refused; "" to go on
  std::string additions;    // fields to insert before the end of the header section (CRLF each)
  std::string added_names;  // "From Message-ID Date" (for the log), "" when nothing was added
};

SubmissionHeaderResult check_submission_headers(const SubmissionHeaderInput& input,
                                                const SenderOwnership& ownership);

}  // namespace postern::smtpd
