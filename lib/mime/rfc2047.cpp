// RFC 2047 decoding (lib/mime/rfc2047.hpp) for imapd SEARCH. The header value is hostile: one pass,
// each encoded word bounded by the value; decoded bytes are at most the word's length, and the
// charset conversion at most 4 bytes per byte.
#include "lib/mime/rfc2047.hpp"

#include "lib/base/ascii.hpp"
#include "lib/mime/charset.hpp"
#include "lib/mime/mime_decode.hpp"

namespace postern {

namespace {

struct EncodedWord {
  size_t end;           // just past "?="
  std::string charset;  // without an RFC 2231 "*lang" suffix
  std::string bytes;    // decoded, still in charset
};

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// An encoded word starting at pos ("=?"), or nullopt.
std::optional<EncodedWord> read_word(std::string_view text, size_t pos) {
  if (text.compare(pos, 2, "=?") != 0) return std::nullopt;
  size_t q1 = text.find('?', pos + 2);
  if (q1 == std::string_view::npos || q1 == pos + 2 || q1 + 2 >= text.size()) return std::nullopt;
  char encoding = ascii_upper(text[q1 + 1]);
  if ((encoding != 'B' && encoding != 'Q') || text[q1 + 2] != '?') return std::nullopt;
  size_t data_start = q1 + 3;
  size_t close = text.find("?=", data_start);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view charset = text.substr(pos + 2, q1 - pos - 2);
  std::string_view data = text.substr(data_start, close - data_start);
  for (char c : charset) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return std::nullopt;
  }
  for (char c : data) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return std::nullopt;
  }
  EncodedWord word;
  word.end = close + 2;
  size_t star = charset.find('*');
  word.charset = std::string(charset.substr(0, star));
  if (encoding == 'B') {
    word.bytes = decode_base64(data);
  } else {
    for (size_t i = 0; i < data.size(); ++i) {
      char c = data[i];
      if (c == '_') {
        word.bytes.push_back(' ');
      } else if (c == '=' && i + 2 < data.size() && hex(data[i + 1]) >= 0 &&
                 hex(data[i + 2]) >= 0) {
        word.bytes.push_back(static_cast<char>(hex(data[i + 1]) * 16 + hex(data[i + 2])));
        i += 2;
      } else {
        word.bytes.push_back(c);
      }
    }
  }
  return word;
}

}  // namespace

std::string decode_rfc2047(std::string_view header_value) {
  // Unfold first: line ends go, the white space after them stays.
  std::string unfolded;
  unfolded.reserve(header_value.size());
  for (char c : header_value) {
    if (c != '\r' && c != '\n') unfolded.push_back(c);
  }
  std::string_view text = unfolded;
  std::string out;
  out.reserve(text.size());
  std::string pending_bytes;  // decoded bytes of adjacent words in one charset
  std::string pending_charset;
  std::string pending_raw;  // how those words were written (used when the charset is unknown)
  auto flush = [&]() {
    if (pending_raw.empty()) return;
    std::optional<std::string> converted = charset_to_utf8(pending_bytes, pending_charset);
    out += converted ? *converted : sanitize_utf8(pending_raw);
    pending_bytes.clear();
    pending_charset.clear();
    pending_raw.clear();
  };
  size_t pos = 0;
  size_t plain_start = 0;
  bool last_was_word = false;
  while (pos < text.size()) {
    size_t next = text.find("=?", pos);
    if (next == std::string_view::npos) break;
    std::optional<EncodedWord> word = read_word(text, next);
    if (!word) {
      pos = next + 2;
      continue;
    }
    std::string_view between = text.substr(plain_start, next - plain_start);
    bool only_space = between.find_first_not_of(" \t") == std::string_view::npos;
    if (!(last_was_word && only_space)) {
      flush();
      out += sanitize_utf8(between);
    }
    if (!pending_raw.empty() && !ascii_iequals(pending_charset, word->charset)) flush();
    pending_charset = word->charset;
    pending_bytes += word->bytes;
    pending_raw.append(text.substr(next, word->end - next));
    pos = plain_start = word->end;
    last_was_word = true;
  }
  flush();
  out += sanitize_utf8(text.substr(plain_start));
  // A word left as written (bad charset or encoding) may carry bytes that are not UTF-8: the
  // result is promised to be UTF-8 as a whole (the MIME fuzzer found such a word).
  return sanitize_utf8(out);
}

}  // namespace postern
