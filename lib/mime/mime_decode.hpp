// Content-Transfer-Encoding decoders (RFC 2045 6.7, 6.8): base64 and quoted-printable, lenient as
// mail readers are (characters outside the alphabet are skipped, a broken "=XX" is kept as is).
// Used by BINARY[] and body SEARCH in imapd. Input is hostile; output is never longer than the
// input, so the caller's size limit bounds it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern {

std::string decode_base64(std::string_view encoded);
std::string decode_quoted_printable(std::string_view encoded);
// The body decoded per its Content-Transfer-Encoding value (ASCII case-insensitive, white space
// and comments around it ignored; absent/empty = 7bit): nullopt for an unknown encoding.
std::optional<std::string> decode_transfer_encoding(std::string_view body,
                                                    std::string_view encoding);

}  // namespace postern
