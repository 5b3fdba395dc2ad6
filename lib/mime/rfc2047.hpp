// RFC 2047 encoded words ("=?charset?B?...?=", "=?charset?Q?...?=") in header values, decoded to
// UTF-8 (RFC 2231 language suffix "charset*lang" accepted). Used by imapd SEARCH (SUBJECT, FROM,
// HEADER ...). The header is hostile: words over 75 bytes are still decoded (many mailers
// write them), unknown charsets and broken words are left as they were written; output is bounded
// by a small multiple of the input.
#pragma once

#include <string>
#include <string_view>

namespace postern {

// The header value unfolded (CRLF/LF before white space removed), encoded words decoded and the
// white space between two adjacent encoded words dropped (RFC 2047 6.2). Text outside encoded
// words is taken as UTF-8 (bad bytes become U+FFFD).
std::string decode_rfc2047(std::string_view header_value);

}  // namespace postern
