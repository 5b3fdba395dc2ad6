// IMAP BODY[section] / BINARY[section] extraction (RFC 3501 6.4.5, RFC 9051, RFC 3516) over a
// parsed MimeTree. Used by imapd FETCH. The section spec comes from the client (parsed from
// "BODY[...]" by lib/imap/imap_fetch_items); the message bytes are hostile but already bounded by the
// message size limit. Output is at most the size of the message (HEADER.FIELDS: of its header).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/mime/mime_parser.hpp"
#include "lib/base/result.hpp"

namespace postern {

struct MimeSection {
  enum class Text {
    kAll,              // BODY[] or BODY[1.2]: the whole message / part body
    kHeader,           // HEADER (of the message or of the embedded message at part)
    kHeaderFields,     // HEADER.FIELDS (fields)
    kHeaderFieldsNot,  // HEADER.FIELDS.NOT (fields)
    kText,             // TEXT (body of the message / embedded message)
    kMime,             // MIME: the header of part (part must not be empty)
  };
  std::vector<uint32_t> part;       // "1.2.3" -> {1, 2, 3}; empty: the top-level message
  Text text = Text::kAll;
  std::vector<std::string> fields;  // for kHeaderFields(Not); matched ASCII case-insensitively
};

// The bytes of the section, or nullopt when the part does not exist (the caller answers with
// an empty string or NIL, as IMAP wants). HEADER/TEXT/HEADER.FIELDS on a part that is not a
// message/rfc822 give nullopt as well. HEADER.FIELDS output keeps the matching fields as they
// are in the message and ends with the empty line (CRLF), as Dovecot and UW do. Partial
// <n.m> is the caller's: a substring of this.
std::optional<std::string> extract_section(std::string_view message, const MimeTree& tree,
                                           const MimeSection& section);

// BINARY[part] (RFC 3516): the part's body with its Content-Transfer-Encoding undone (7bit,
// 8bit, binary: as is; base64 and quoted-printable decoded). Errors: kNotFound (no such part),
// kParse with message "UNKNOWN-CTE" for any other encoding. An empty part path is the whole
// message (returned as is). BINARY.SIZE is the size of the result.
Result<std::string> extract_binary(std::string_view message, const MimeTree& tree,
                                   const std::vector<uint32_t>& part);

}  // namespace postern
