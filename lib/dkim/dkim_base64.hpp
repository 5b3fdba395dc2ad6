// Base64 (RFC 4648 4) for the b=, bh= and p= values of DKIM. Decoding is run on values taken
// from messages and DNS answers (hostile): only the alphabet and '=' padding at the end are
// accepted, whitespace must already be removed (dkim_strip_whitespace), and the input size is
// bounded by the tag-list limits before it gets here.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

std::string dkim_base64_encode(std::string_view bytes);

// Decodes canonical or unpadded base64. Fails on a character outside the alphabet, padding
// that is not at the end, or a length that leaves a lone 6-bit group.
Result<std::string> dkim_base64_decode(std::string_view text);

}  // namespace postern
