// Re-encoding of binary MIME parts as base64 (lib/mime/mime_binary_convert.hpp).
#include "lib/mime/mime_binary_convert.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "lib/base/ascii.hpp"

namespace postern {

namespace {

constexpr size_t kBytesPerLine = 57;  // 76 base64 characters (RFC 2045 6.8)

// The token of a Content-Transfer-Encoding value: up to white space, a comment or the end.
std::string_view encoding_token(std::string_view value) {
  size_t start = value.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return {};
  value.remove_prefix(start);
  return value.substr(0, value.find_first_of(" \t\r\n("));
}

bool is_binary_leaf(const MimePart& part) {
  if (part.is_multipart() || part.is_type("message")) return false;
  return part.transfer_encoding.has_value() &&
         ascii_iequals(encoding_token(*part.transfer_encoding), "binary");
}

void append_base64(std::string_view bytes, std::string_view line_end, std::string& out) {
  unsigned char encoded[80];
  for (size_t at = 0; at < bytes.size(); at += kBytesPerLine) {
    const size_t n = std::min(kBytesPerLine, bytes.size() - at);
    const int written = EVP_EncodeBlock(
        encoded, reinterpret_cast<const unsigned char*>(bytes.data() + at), static_cast<int>(n));
    if (at != 0) out += line_end;
    out.append(reinterpret_cast<const char*>(encoded), static_cast<size_t>(written));
  }
}

struct Replacement {
  size_t start;
  size_t end;
  std::string text;
};

}  // namespace

BinaryConversion convert_binary_parts(std::string_view message, const MimeLimits& limits) {
  BinaryConversion result;
  const MimeTree tree = parse_mime(message, limits);
  std::vector<Replacement> replacements;
  for (const MimePart& part : tree.parts) {
    if (!is_binary_leaf(part)) continue;
    for (const MimeHeaderField& field : mime_header_fields(message, part)) {
      if (!ascii_iequals(field.name, "Content-Transfer-Encoding")) continue;
      const size_t start = static_cast<size_t>(field.raw.data() - message.data());
      const std::string_view field_end = field.raw.ends_with("\r\n") ? "\r\n"
                                         : field.raw.ends_with("\n") ? "\n"
                                                                     : "";
      std::string text = "Content-Transfer-Encoding: base64";
      text += field_end;
      replacements.push_back({start, start + field.raw.size(), std::move(text)});
    }
    const std::string_view header =
        message.substr(part.header_start, part.header_end - part.header_start);
    const std::string_view line_end = header.ends_with("\r\n") ? "\r\n" : "\n";
    std::string body;
    append_base64(message.substr(part.body_start, part.body_size()), line_end, body);
    // A body that runs to the end of the message ends with a line end of its own; inside a
    // multipart the line end before the next boundary is already there.
    if (part.body_end == message.size() && !body.empty()) body += line_end;
    replacements.push_back({part.body_start, part.body_end, std::move(body)});
    ++result.parts_converted;
  }
  if (replacements.empty()) {
    result.message.assign(message);
    return result;
  }
  std::sort(replacements.begin(), replacements.end(),
            [](const Replacement& a, const Replacement& b) { return a.start < b.start; });
  size_t at = 0;
  for (const Replacement& r : replacements) {
    result.message.append(message.substr(at, r.start - at));
    result.message += r.text;
    at = r.end;
  }
  result.message.append(message.substr(at));
  return result;
}

}  // namespace postern
