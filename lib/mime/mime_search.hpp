// Searchable text of a message for IMAP SEARCH (RFC 3501 6.4.4: BODY, TEXT, SUBJECT, FROM,
// HEADER ...): header values decoded to UTF-8 and the text of text/* parts decoded (transfer
// encoding, then charset) to UTF-8. Used by imapd SEARCH. The message is hostile; each part's
// decoded text is bounded by its size (times 4 for charset conversion).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "lib/mime/mime_parser.hpp"

namespace postern {

// A header value as SEARCH compares it: unfolded, RFC 2047 words decoded, UTF-8.
std::string searchable_header_value(std::string_view raw_value);

// Calls visit with the decoded UTF-8 text of each text/* leaf part (message/rfc822 parts are
// entered; other types are skipped), in order. visit returns false to stop early. A part with an
// unknown transfer encoding is given raw; an unknown charset is taken as UTF-8 (sanitised).
void for_each_body_text(std::string_view message, const MimeTree& tree,
                        const std::function<bool(std::string_view utf8_text)>& visit);

}  // namespace postern
