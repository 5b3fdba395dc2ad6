// base64 and quoted-printable decoding (lib/mime/mime_decode.hpp) for imapd BINARY and SEARCH. Input
// is a hostile body; each decoder makes one pass and never writes more bytes than it reads.
#include "lib/mime/mime_decode.hpp"

#include "lib/base/ascii.hpp"

namespace postern {

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string decode_base64(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size() / 4 * 3 + 3);
  uint32_t accumulator = 0;
  int bits = 0;
  for (char c : encoded) {
    if (c == '=') break;  // padding: the end of the data
    int value = base64_value(c);
    if (value < 0) continue;  // line ends and anything outside the alphabet
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
  }
  return out;
}

std::string decode_quoted_printable(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  size_t pos = 0;
  while (pos < encoded.size()) {
    char c = encoded[pos];
    if (c == '\r' || c == '\n') {
      // Trailing white space before a line end is transport padding (RFC 2045 6.7 rule 3).
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      out.push_back(c);
      ++pos;
      continue;
    }
    if (c != '=') {
      out.push_back(c);
      ++pos;
      continue;
    }
    // "=XX", or a soft line break "=" [white space] line end.
    size_t after = pos + 1;
    while (after < encoded.size() && (encoded[after] == ' ' || encoded[after] == '\t')) ++after;
    if (after >= encoded.size()) {
      pos = after;  // "=" at the very end: a soft break with nothing after
      continue;
    }
    if (encoded[after] == '\n' || encoded[after] == '\r') {
      pos = after + 1;
      if (encoded[after] == '\r' && pos < encoded.size() && encoded[pos] == '\n') ++pos;
      continue;
    }
    if (pos + 2 < encoded.size() && hex_value(encoded[pos + 1]) >= 0 &&
        hex_value(encoded[pos + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(encoded[pos + 1]) * 16 + hex_value(encoded[pos + 2])));
      pos += 3;
      continue;
    }
    out.push_back('=');  // broken: kept as written
    ++pos;
  }
  return out;
}

std::optional<std::string> decode_transfer_encoding(std::string_view body,
                                                    std::string_view encoding) {
  while (!encoding.empty() && (encoding.front() == ' ' || encoding.front() == '\t')) {
    encoding.remove_prefix(1);
  }
  size_t end = 0;
  while (end < encoding.size() && encoding[end] != ' ' && encoding[end] != '\t' &&
         encoding[end] != '(' && encoding[end] != '\r' && encoding[end] != '\n' &&
         encoding[end] != ';') {
    ++end;
  }
  encoding = encoding.substr(0, end);
  if (encoding.empty() || ascii_iequals(encoding, "7bit") || ascii_iequals(encoding, "8bit") ||
      ascii_iequals(encoding, "binary")) {
    return std::string(body);
  }
  if (ascii_iequals(encoding, "base64")) return decode_base64(body);
  if (ascii_iequals(encoding, "quoted-printable")) return decode_quoted_printable(body);
  return std::nullopt;
}

}  // namespace postern
