// RFC 3516 APPEND of a literal8 ("~{n}"): a message may arrive with parts whose
// Content-Transfer-Encoding is "binary" and whose bytes include NUL, bare CR and bare LF. imapd
// keeps messages as text (LF line ends on disk, CRLF on the wire, no NUL in a BODY[] string), so
// such parts are re-encoded as base64 before the message is stored, as Dovecot does: BODY[]
// then shows base64, and BINARY[] decodes it back to the bytes the client sent.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/mime/mime_parser.hpp"

namespace postern {

struct BinaryConversion {
  std::string message;         // the message with every binary leaf part in base64
  size_t parts_converted = 0;  // 0: message is a copy of the input
};

// Each leaf part (not multipart, not message/*) whose Content-Transfer-Encoding
// token is "binary" gets its body in base64 (76-column lines) and that field rewritten to
// "Content-Transfer-Encoding: base64". Composite parts keep their encoding (RFC 2045 6.4 allows
// no other) and other leaf parts are left as they are, so NUL outside a binary part survives
// and the caller decides what to do with it. Linear in the message size.
BinaryConversion convert_binary_parts(std::string_view message, const MimeLimits& limits = {});

}  // namespace postern
