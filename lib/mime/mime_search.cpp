// Searchable text (lib/mime/mime_search.hpp) for imapd SEARCH: header values and text parts decoded to
// UTF-8. The message is hostile; each part is decoded on its own (bounded by its size, times 4
// for charset conversion) and handed to the visitor before the next is decoded.
#include "lib/mime/mime_search.hpp"

#include "lib/mime/charset.hpp"
#include "lib/mime/mime_decode.hpp"
#include "lib/mime/rfc2047.hpp"

namespace postern {

std::string searchable_header_value(std::string_view raw_value) {
  return decode_rfc2047(raw_value);
}

void for_each_body_text(std::string_view message, const MimeTree& tree,
                        const std::function<bool(std::string_view utf8_text)>& visit) {
  for (const MimePart& part : tree.parts) {
    if (!part.children.empty() || !part.is_type("text")) continue;
    if (part.body_end > message.size() || part.body_start > part.body_end) continue;
    std::string_view body = message.substr(part.body_start, part.body_end - part.body_start);
    std::optional<std::string> decoded =
        decode_transfer_encoding(body, part.transfer_encoding.value_or(""));
    std::string bytes = decoded ? std::move(*decoded) : std::string(body);
    std::string_view charset = mime_param(part.type_params, "charset").value_or("us-ascii");
    std::optional<std::string> text = charset_to_utf8(bytes, charset);
    if (!visit(text ? *text : sanitize_utf8(bytes))) return;
  }
}

}  // namespace postern
