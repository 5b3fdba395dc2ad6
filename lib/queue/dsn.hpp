// RFC 3464 delivery status notifications: the bounce message qmgr writes when recipients fail
// (or expire). A pure function: envelope facts + per-recipient results + the original header
// section in, the complete message text (wire form, CRLF lines) out. Used by qmgr.
// Trusts nothing in its input to be well formed: addresses, diagnostics and queue IDs that came
// from peers are made printable and cut (kMaxDsnFieldBytes); the original header section is cut
// at a line boundary to kMaxDsnHeaderBytes. No CR or LF of the input reaches a header unescaped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

inline constexpr size_t kMaxDsnHeaderBytes = 64 * 1024;
inline constexpr size_t kMaxDsnFieldBytes = 512;

struct DsnRecipient {
  std::string final_recipient;    // "user@domain" as it was in the envelope
  std::string orcpt;              // RFC 3461 ORCPT as given ("rfc822;user@domain", xtext), or ""
  std::string action = "failed";  // failed | delayed | delivered | relayed | expanded
  std::string status;             // "5.1.1"
  std::string diagnostic;         // human text: "User unknown"
  // From the relay client, when a remote server answered (both may be empty):
  std::string remote_mta;  // "mx.example.net": Remote-MTA: dns; ...
  std::string
      smtp_diagnostic;  // its reply "550 5.1.1 <x@y>: no such user": Diagnostic-Code:
                        // smtp; ... (otherwise the Diagnostic-Code is X-Postern; diagnostic)
};

struct DsnReport {
  std::string reporting_mta;  // $myhostname
  std::string original_queue_id;
  std::string bounce_queue_id;   // the queue ID of the DSN itself (Message-ID, boundary)
  std::string original_sender;   // "" for <>
  std::string notify_to;         // To: of the DSN ("" allowed only for tests)
  int64_t arrival_time = 0;      // of the original message, unix seconds
  int64_t now = 0;               // unix seconds
  bool postmaster_copy = false;  // a report about a bounce, sent to postmaster
  std::vector<DsnRecipient> recipients;
  std::string_view original_headers;  // wire form; may hold the body too: cut at the blank line
};

// The whole DSN message, CRLF line ends, ready for QueueFileWriter::append_message.
std::string build_dsn(const DsnReport& report);

// The header section of a message (everything before the first empty line, including the final
// CRLF of the last header line), cut at a line boundary to at most max_bytes.
std::string_view header_section(std::string_view message, size_t max_bytes);

// RFC 5322 date-time in UTC: "Tue, 03 Feb 2026 10:00:00 +0000".
std::string rfc5322_date(int64_t unix_seconds);

// RFC 3461 xtext decoding ("+2B" -> "+"); invalid escapes are kept as written.
std::string xtext_decode(std::string_view text);

}  // namespace postern
