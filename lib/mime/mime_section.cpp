// BODY[section] and BINARY[section] extraction (lib/mime/mime_section.hpp) for imapd FETCH. The
// section spec comes from a client; the tree from lib/mime/mime_parser. Output is a copy of at most
// the message's size; HEADER.FIELDS compares each header field with at most the listed names.
#include "lib/mime/mime_section.hpp"

#include "lib/base/ascii.hpp"
#include "lib/mime/mime_decode.hpp"

namespace postern {

namespace {

std::string_view bytes(std::string_view message, size_t begin, size_t end) {
  if (begin > message.size()) begin = message.size();
  if (end > message.size()) end = message.size();
  if (end < begin) end = begin;
  return message.substr(begin, end - begin);
}

bool listed(const std::vector<std::string>& fields, std::string_view name) {
  for (const std::string& field : fields) {
    if (ascii_iequals(field, name)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> extract_section(std::string_view message, const MimeTree& tree,
                                           const MimeSection& section) {
  std::optional<uint32_t> found = find_mime_part(tree, section.part);
  if (!found) return std::nullopt;
  const MimePart& part = tree.parts[*found];
  using Text = MimeSection::Text;
  if (section.text == Text::kAll) {
    if (section.part.empty()) return std::string(message);
    return std::string(bytes(message, part.body_start, part.body_end));
  }
  if (section.text == Text::kMime) {
    if (section.part.empty()) return std::nullopt;  // MIME needs a part number
    return std::string(bytes(message, part.header_start, part.header_end));
  }
  // HEADER, HEADER.FIELDS(.NOT), TEXT: of the top message, or of the message embedded in a
  // message/rfc822 part.
  const MimePart* target = &part;
  if (!section.part.empty()) {
    if (!part.is_message()) return std::nullopt;
    target = &tree.parts[part.children[0]];
  }
  if (section.text == Text::kText) {
    return std::string(bytes(message, target->body_start, target->body_end));
  }
  if (section.text == Text::kHeader) {
    return std::string(bytes(message, target->header_start, target->header_end));
  }
  bool want = section.text == Text::kHeaderFields;
  std::string out;
  for (const MimeHeaderField& field : mime_header_fields(message, *target)) {
    if (listed(section.fields, field.name) != want) continue;
    out.append(field.raw);
    if (out.empty() || out.back() != '\n') out += "\r\n";  // the last field had no line end
  }
  out += "\r\n";
  return out;
}

Result<std::string> extract_binary(std::string_view message, const MimeTree& tree,
                                   const std::vector<uint32_t>& part_path) {
  if (part_path.empty()) return std::string(message);
  std::optional<uint32_t> found = find_mime_part(tree, part_path);
  if (!found) return Error::not_found("no such part");
  const MimePart& part = tree.parts[*found];
  std::string_view body = bytes(message, part.body_start, part.body_end);
  // A multipart or embedded message is given as it is (its parts carry their own encodings).
  if (part.is_multipart() || part.is_message()) return std::string(body);
  std::optional<std::string> decoded =
      decode_transfer_encoding(body, part.transfer_encoding.value_or(""));
  if (!decoded) return Error::parse("UNKNOWN-CTE");
  return std::move(*decoded);
}

}  // namespace postern
