// libFuzzer target for the MIME code imapd runs on stored mail: lib/mime/mime_parser (with small
// limits picked by the first input byte), lib/mime/mime_render (BODYSTRUCTURE, BODY, ENVELOPE),
// lib/mime/mime_section (a few sections and BINARY), lib/mime/mime_search, lib/mime/rfc2047, lib/mime/charset and
// lib/mime/mime_binary_convert (APPEND of a literal8).
// Properties checked besides crashes and sanitizer reports: every part's offsets lie inside the
// message in order; children follow their parents; depth and part counts respect the limits;
// parenthesis nesting of the rendered BODYSTRUCTURE balances (outside strings and literals);
// extracted sections are substrings of the message (or HEADER.FIELDS output ending in CRLF);
// decoded text is valid UTF-8; converting binary parts to base64 keeps the structure (the same
// number of parts when no limit was met) and changes nothing when there is no binary part.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/mime/charset.hpp"
#include "lib/mime/mime_binary_convert.hpp"
#include "lib/mime/mime_parser.hpp"
#include "lib/mime/mime_render.hpp"
#include "lib/mime/mime_search.hpp"
#include "lib/mime/mime_section.hpp"
#include "lib/mime/rfc2047.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool valid_utf8(std::string_view text) {
  return postern::sanitize_utf8(text) == text;
}

// Parentheses balance outside quoted strings and literals.
void check_balanced(std::string_view text) {
  long depth = 0;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') ++i;
      check(i < text.size());
      ++i;
      continue;
    }
    if (c == '{') {
      size_t close = text.find('}', i);
      check(close != std::string_view::npos);
      size_t length = std::strtoul(std::string(text.substr(i + 1, close - i - 1)).c_str(),
                                   nullptr, 10);
      i = close + 3 + length;  // "}\r\n" then the bytes
      check(i <= text.size());
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')') --depth;
    check(depth >= 0);
    ++i;
  }
  check(depth == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string message(reinterpret_cast<const char*>(data + 1), size - 1);
  postern::MimeLimits limits;
  limits.max_depth = 1 + (control & 0x07);
  limits.max_parts = 2 + ((control >> 3) & 0x1f);
  limits.max_header_fields = 1 + (control >> 5) * 4;

  postern::MimeTree tree = postern::parse_mime(message, limits);
  check(!tree.parts.empty());
  check(tree.parts.size() <= limits.max_parts);
  for (size_t i = 0; i < tree.parts.size(); ++i) {
    const postern::MimePart& part = tree.parts[i];
    check(part.header_start <= part.header_end);
    check(part.header_end == part.body_start);
    check(part.body_start <= part.body_end);
    check(part.body_end <= message.size());
    check(part.depth <= limits.max_depth);
    if (i > 0) check(part.parent < i && tree.parts[part.parent].depth + 1 == part.depth);
    for (uint32_t child : part.children) check(child > i && tree.parts[child].parent == i);
  }

  check_balanced(postern::render_bodystructure(message, tree, true));
  check_balanced(postern::render_bodystructure(message, tree, false));
  check_balanced(postern::render_envelope(message, tree));

  using Text = postern::MimeSection::Text;
  const postern::MimeSection sections[] = {
      {{}, Text::kHeader, {}},
      {{}, Text::kText, {}},
      {{1}, Text::kAll, {}},
      {{1}, Text::kMime, {}},
      {{2, 1}, Text::kHeader, {}},
      {{1, 2}, Text::kText, {}},
      {{}, Text::kHeaderFields, {"subject", "from", "content-type"}},
      {{1}, Text::kHeaderFieldsNot, {"content-type"}},
  };
  for (const postern::MimeSection& section : sections) {
    auto bytes = postern::extract_section(message, tree, section);
    if (!bytes) continue;
    if (section.text == Text::kHeaderFields || section.text == Text::kHeaderFieldsNot) {
      check(bytes->size() >= 2 && bytes->compare(bytes->size() - 2, 2, "\r\n") == 0);
    } else {
      check(message.find(*bytes) != std::string::npos);
    }
  }
  auto binary = postern::extract_binary(message, tree, {1});
  if (binary.ok()) check(binary->size() <= message.size());

  postern::for_each_body_text(message, tree, [](std::string_view text) {
    check(valid_utf8(text));
    return true;
  });
  postern::BinaryConversion converted = postern::convert_binary_parts(message, limits);
  if (converted.parts_converted == 0) {
    check(converted.message == message);
  } else if (!tree.limited) {
    check(postern::parse_mime(converted.message, limits).parts.size() == tree.parts.size());
  }

  std::string decoded = postern::decode_rfc2047(message);
  check(valid_utf8(decoded));
  check(valid_utf8(postern::utf8_casefold(message)));
  postern::utf8_contains_casefold(message, "=?UTF-8?Q?");
  return 0;
}
