// IMAP renderings of a parsed message (RFC 3501 7.4.2, RFC 9051 7.5.2): ENVELOPE, BODYSTRUCTURE
// and BODY (the non-extensible form), as the text that follows the item name in a FETCH
// response, e.g. "(\"Mon, 1 Jan 2024 ...\" \"subject\" ((NIL NIL \"a\" \"b.org\")) ...)".
// Used by imapd FETCH and by the mailbox index, which caches the text. Strings that cannot be
// quoted (CR, LF, NUL, 8-bit, or very long) are written as literals "{n}\r\n...". Output size is
// linear in the header sizes and the number of parts (both bounded by the parse limits).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/mime/mime_parser.hpp"

namespace postern {

// The ENVELOPE of the message (part_index 0) or of an embedded message (a child of a
// message/rfc822 part).
std::string render_envelope(std::string_view message, const MimeTree& tree,
                            uint32_t part_index = 0);

// BODYSTRUCTURE (extended = true) or BODY (extended = false) of the whole message.
std::string render_bodystructure(std::string_view message, const MimeTree& tree, bool extended);

// An IMAP string for text as these renderings write it: "quoted" when it can be (no '"', '\',
// control or 8-bit bytes, at most 4096 bytes: Dovecot's choice), else a literal {n}\r\n<bytes>.
// (lib/imap/imap_parser's imap_quote/imap_nstring are the general writers for the session.)
std::string mime_string(std::string_view text);
// "NIL" for nullopt, mime_string otherwise.
std::string mime_nstring(const std::optional<std::string>& text);

}  // namespace postern
