// Text in a MIME charset to UTF-8 (glibc iconv), and the case-insensitive UTF-8 matching IMAP
// SEARCH uses. Used by imapd SEARCH and lib/mime/rfc2047. Input is hostile: invalid sequences become
// U+FFFD; output is bounded by a multiple of the input (at most 4 bytes per input byte).
// Case folding: ASCII plus the simple (1:1) Unicode lower-case mappings of Latin-1, Latin
// Extended-A, Greek and Cyrillic (what i;unicode-casemap folds most often); other code points
// compare exactly. No normalisation (NFC/NFKD) is applied.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern {

// Converts text in charset (a MIME charset name: "utf-8", "ISO-8859-1", "windows-1252", ...) to
// UTF-8. nullopt when the charset is unknown to iconv. us-ascii/utf-8 input that is not valid
// gets U+FFFD for each bad byte.
std::optional<std::string> charset_to_utf8(std::string_view text, std::string_view charset);

// Valid UTF-8 out of anything: bad bytes become U+FFFD.
std::string sanitize_utf8(std::string_view text);

// The folded form (see above) of UTF-8 text; bad bytes become U+FFFD first.
std::string utf8_casefold(std::string_view text);

// Whether needle occurs in haystack, compared in folded form. An empty needle matches.
bool utf8_contains_casefold(std::string_view haystack, std::string_view needle);
// The same with a needle already folded by utf8_casefold (for searching many messages).
bool utf8_contains_folded(std::string_view haystack, std::string_view folded_needle);

}  // namespace postern
