// The header section of a message (RFC 5322 2.2, 3.6; RFC 6532 for UTF-8): collecting it from
// the DATA stream, splitting it into fields, reading the addresses of From:/Sender:/To:/Reply-To:
// and making the Message-ID: and Date: values a submission service adds. Used by submission (and
// by relay/qmgr for bounces). The bytes come from a submission client: hostile. Limits: the
// collector keeps at most limit_bytes (header_size_limit) of header text; at most max_fields
// fields; at most kMaxAddresses addresses per list; comments nest at most kMaxCommentDepth deep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxHeaderFields = 1000;
inline constexpr size_t kMaxAddresses = 1000;
inline constexpr int kMaxCommentDepth = 32;

// Collects the header section of a message given in wire form (CRLF line ends, dot-stuffing
// already removed, e.g. what SmtpDataReader hands on), in pieces of any size (one byte at a
// time works). The header section ends at the first empty line; a message that starts with the
// empty line has an empty header section. Lines end at LF; a CR before it is part of the line
// end, so "\n" alone also counts as the empty line (SmtpDataReader refuses bare LF when asked).
//
// text() is the header section WITHOUT the empty line that ends it: each line with its own line
// end, exactly as received. It holds at most limit_bytes; the header text past that is consumed
// (still counted as header section, so the caller knows where the body starts) but not kept,
// and over_limit() becomes true. text().size() == limit_bytes is not over the limit.
class HeaderSectionCollector {
 public:
  explicit HeaderSectionCollector(size_t limit_bytes);

  // Returns how many of these bytes belong to the header section, including the empty line
  // that ends it; once complete() it returns 0 (the rest is body).
  size_t feed(std::string_view bytes);
  bool complete() const { return complete_; }
  bool over_limit() const { return over_limit_; }
  const std::string& text() const { return text_; }
  // The message ended without an empty line: everything fed was header. Marks it complete.
  void finish_at_end_of_message();

 private:
  void keep(std::string_view bytes);

  size_t limit_bytes_;
  std::string text_;
  bool complete_ = false;
  bool over_limit_ = false;
  bool at_line_start_ = true;  // the next byte starts a line
  bool pending_cr_ = false;    // a line started with CR: the empty line if LF comes next
};

struct HeaderField {
  std::string name;   // as written (without the obsolete white space before the colon)
  std::string value;  // raw text after the colon, up to but without the field's final line end;
                      // folding line ends (CRLF + WSP) are kept as received
};

// Splits a header section (HeaderSectionCollector::text(), or any text of the same shape) into
// fields. Field names are printable US-ASCII except ':' (RFC 5322 ftext); white space between
// the name and the colon is tolerated (obsolete syntax, 4.5) and dropped. A line that starts
// with SP or HTAB continues the previous field. Errors (kParse): a line with no colon that is
// not a continuation, a continuation before the first field, an empty or invalid name, a NUL
// byte. More than max_fields fields: kLimit (max_fields itself is accepted).
Result<std::vector<HeaderField>> parse_header_section(std::string_view text,
                                                      size_t max_fields = kMaxHeaderFields);

// Index of the first field with this name (ASCII case-insensitive), or nullopt.
std::optional<size_t> find_field(const std::vector<HeaderField>& fields, std::string_view name);
// How many fields have this name (ASCII case-insensitive).
size_t count_fields(const std::vector<HeaderField>& fields, std::string_view name);

// The addr-specs of an address-list value (From:, Sender:, To:, Cc:, Reply-To:; RFC 5322 3.4
// and the obsolete forms of 4.4: empty list elements, source routes in angle addresses, CFWS
// between the dots of a local part or domain, phrases with dots). Accepted: display names of
// atoms and quoted strings (an RFC 2047 encoded-word is just an atom here), comments (nested at
// most kMaxCommentDepth deep, quoted pairs inside), "Name <addr>", bare addr-spec, groups
// ("undisclosed-recipients:;" gives no address; a group's members are returned), quoted local
// parts, folding white space (CRLF followed by SP/HTAB), UTF-8 (RFC 6532; must be well formed).
//
// Each address comes back as "local@domain": the domain ASCII-lower-cased (a domain literal
// keeps its brackets), the local part as written but with quoting normalised like
// Address::to_string(): quotes and quoted pairs removed, and the local part re-quoted (with
// '"' and '\' escaped) only when it is not a dot-string. So "\"john.doe\"@Example.ORG" gives
// "john.doe@example.org" and "\"john doe\"@x.org" gives "\"john doe\"@x.org".
//
// Anything malformed is an error (kParse): a missing '>', two '@', an unterminated quoted string
// or comment, trailing garbage, control characters, bad UTF-8, an address without a domain, a
// value with no address and no group. More than kMaxAddresses addresses: kLimit. The value's
// length is bounded by the caller (it comes out of a bounded header section).
Result<std::vector<std::string>> parse_address_list(std::string_view value);

struct AddressListOptions {
  // A local part with no "@domain" ("root", "<root>", "Admin <root>") is an address too, and
  // comes back as the local part alone: what sendmail -t reads in a locally written message,
  // where the MTA appends $myorigin.
  bool allow_local_only = false;
};
Result<std::vector<std::string>> parse_address_list(std::string_view value,
                                                    const AddressListOptions& options);

// "<YYYYMMDDhhmmss.QUEUEID@hostname>" with the UTC time given: unique per queue ID (queue IDs
// are unique per host). The two-argument form uses the current time.
std::string make_message_id(std::string_view queue_id, std::string_view hostname,
                            int64_t unix_seconds);
std::string make_message_id(std::string_view queue_id, std::string_view hostname);

// RFC 5322 3.3 date-time in local time with a numeric zone: "Mon, 23 Nov 2026 06:15:00 +0000".
std::string make_date_value(int64_t unix_seconds);

}  // namespace postern
