// Modified UTF-7 (RFC 3501 5.1.3), the encoding of IMAP mailbox names: printable US-ASCII
// stands for itself ("&" as "&-"), every other character is UTF-16BE in a base64 run with ','
// for '/', no padding, between '&' and '-'. Used by imapd (folder names from clients, which
// are also the Maildir++ directory names on disk) and its tests. Input is hostile: the
// validator accepts only the one canonical encoding of each name (no encoded printable ASCII,
// no empty or adjacent runs, no padding bits set, no bad surrogates, no raw 8-bit or control
// bytes), so two spellings can never name one folder. Output grows linearly with the input
// (at most 8/3 + 2 bytes per UTF-16 unit), callers bound the input length first.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

// UTF-8 -> modified UTF-7. Error (kParse) when the input is not valid UTF-8 (overlong forms,
// surrogates, code points over U+10FFFF, truncated sequences) or holds NUL.
Result<std::string> mutf7_encode(std::string_view utf8);

// Modified UTF-7 -> UTF-8. Error (kParse, with the reason) unless the input is the canonical
// encoding of its text: exactly what mutf7_encode would write for the result (NUL refused).
Result<std::string> mutf7_decode(std::string_view mutf7);

// True when mutf7_decode would succeed.
bool mutf7_valid(std::string_view mutf7);

}  // namespace postern
