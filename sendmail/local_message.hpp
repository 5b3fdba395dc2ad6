// A message as a local program hands it to sendmail(1): turning its text into wire form and
// completing its header section. Run by sendmail(1) as the calling user; the text comes from
// that user (hostile only to themselves, but bounded: message_size_limit, header_size_limit,
// kMaxLocalHeaderFields). What is done to it, as Postfix's sendmail and cleanup do:
//   - lines end at LF; a CR before the LF is dropped; every line goes out with CRLF; a last
//     line without LF gets one. Without -i a line holding only "." ends the message.
//   - a first line "From ..." (an mbox envelope line) is dropped.
//   - the header section is the lines up to the first empty line, or up to the first line that
//     is neither a field ("name:") nor a continuation: that line starts the body.
//   - with -t the recipients come from To:, Cc: and Bcc: (Resent-To/-Cc/-Bcc instead when any
//     Resent- field is there); bare names such as "root" are allowed.
//   - Bcc: and Resent-Bcc: are removed, with or without -t, so that no recipient sees them.
//   - missing From:, Date: and Message-ID: are added at the end of the header section.
//   - bare names in address fields get $myorigin (header_qualify), as Postfix's cleanup does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::sendmail {

inline constexpr size_t kMaxLocalHeaderFields = 1000;

// Streaming text -> wire form (see above). feed() returns true once a lone "." has ended the
// message (only without ignore_dots); what follows it is ignored. Past max_bytes of output,
// over_limit() is true and nothing more is kept.
class WireMessageBuilder {
 public:
  WireMessageBuilder(bool ignore_dots, uint64_t max_bytes)
      : ignore_dots_(ignore_dots), max_bytes_(max_bytes) {}
  bool feed(std::string_view chunk);
  void finish();  // end of input: completes a last line without LF
  bool over_limit() const { return over_limit_; }
  const std::string& wire() const { return wire_; }
  std::string take() { return std::move(wire_); }

 private:
  void end_line();
  bool ignore_dots_;
  uint64_t max_bytes_;
  std::string line_;
  std::string wire_;
  bool ended_ = false;
  bool over_limit_ = false;
};

struct LocalHeaderFixups {
  bool extract_recipients = false;  // -t
  std::string from_address;         // for a missing From: (the envelope sender, qualified)
  std::string full_name;            // -F, or the user's GECOS name; may be empty
  std::string origin;               // $myorigin, for bare names in address fields
  std::string hostname;             // for a missing Message-ID:
  std::string queue_id;             // for a missing Message-ID:
  int64_t now = 0;                  // for a missing Date:
  size_t header_size_limit = 102400;
};

struct PreparedMessage {
  std::string wire;                            // the message to queue
  std::vector<std::string> header_recipients;  // with -t; bare names not yet qualified
};

// Errors (kParse, kLimit): an address list that does not parse in a field -t reads, a header
// section over header_size_limit or kMaxLocalHeaderFields.
Result<PreparedMessage> prepare_local_message(std::string_view wire,
                                              const LocalHeaderFixups& fixups);

}  // namespace postern::sendmail
