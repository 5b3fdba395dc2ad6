// Modified UTF-7 for IMAP mailbox names (see imap_mutf7.hpp). Pure functions over bounded
// input; every malformed or non-canonical form is an Error, never a guess.
#include "lib/imap/imap_mutf7.hpp"

#include <cstdint>
#include <vector>

namespace postern {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

bool is_direct(uint32_t c) {
  return c >= 0x20 && c <= 0x7e;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Reads one UTF-8 code point at text[*pos]; false on any malformed sequence.
bool next_utf8(std::string_view text, size_t* pos, uint32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(*pos);
  size_t length = 0;
  uint32_t value = 0;
  uint32_t minimum = 0;
  if (lead < 0x80) {
    *cp = lead;
    *pos += 1;
    return true;
  } else if ((lead & 0xe0) == 0xc0) {
    length = 2, value = lead & 0x1f, minimum = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, value = lead & 0x0f, minimum = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return false;
  }
  if (text.size() - *pos < length) return false;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t b = byte(*pos + i);
    if ((b & 0xc0) != 0x80) return false;
    value = (value << 6) | (b & 0x3f);
  }
  if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return false;
  *cp = value;
  *pos += length;
  return true;
}

void flush_run(const std::vector<uint16_t>& units, std::string& out) {
  out.push_back('&');
  uint32_t bits = 0;
  int nbits = 0;
  for (uint16_t unit : units) {
    bits = (bits << 16) | unit;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out.push_back(kBase64[(bits >> nbits) & 0x3f]);
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) out.push_back(kBase64[(bits << (6 - nbits)) & 0x3f]);
  out.push_back('-');
}

Error bad(std::string why) {
  return Error::parse("invalid modified UTF-7 mailbox name: " + why);
}

}  // namespace

Result<std::string> mutf7_encode(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::vector<uint16_t> run;
  size_t pos = 0;
  while (pos < utf8.size()) {
    uint32_t cp = 0;
    if (!next_utf8(utf8, &pos, &cp)) return Error::parse("mailbox name is not valid UTF-8");
    if (cp == 0) return Error::parse("mailbox name contains NUL");
    if (is_direct(cp)) {
      if (!run.empty()) {
        flush_run(run, out);
        run.clear();
      }
      out.push_back(static_cast<char>(cp));
      if (cp == '&') out.push_back('-');
      continue;
    }
    if (cp >= 0x10000) {
      const uint32_t v = cp - 0x10000;
      run.push_back(static_cast<uint16_t>(0xd800 | (v >> 10)));
      run.push_back(static_cast<uint16_t>(0xdc00 | (v & 0x3ff)));
    } else {
      run.push_back(static_cast<uint16_t>(cp));
    }
  }
  if (!run.empty()) flush_run(run, out);
  return out;
}

Result<std::string> mutf7_decode(std::string_view mutf7) {
  std::string out;
  out.reserve(mutf7.size());
  size_t pos = 0;
  bool previous_was_run = false;  // a run ended right before this position
  while (pos < mutf7.size()) {
    const unsigned char c = static_cast<unsigned char>(mutf7[pos]);
    if (!is_direct(c)) return bad("byte outside printable US-ASCII");
    if (c != '&') {
      out.push_back(static_cast<char>(c));
      ++pos;
      previous_was_run = false;
      continue;
    }
    ++pos;
    if (pos < mutf7.size() && mutf7[pos] == '-') {  // "&-" is "&"
      out.push_back('&');
      ++pos;
      previous_was_run = false;
      continue;
    }
    if (previous_was_run) return bad("two adjacent encoded runs");
    uint32_t bits = 0;
    int nbits = 0;
    size_t chars = 0;
    uint32_t high_surrogate = 0;
    bool terminated = false;
    while (pos < mutf7.size()) {
      const char b = mutf7[pos++];
      if (b == '-') {
        terminated = true;
        break;
      }
      const int value = base64_value(b);
      if (value < 0) return bad("bad character in base64 run");
      ++chars;
      bits = (bits << 6) | static_cast<uint32_t>(value);
      nbits += 6;
      if (nbits < 16) continue;
      nbits -= 16;
      const uint32_t unit = (bits >> nbits) & 0xffff;
      bits &= (1u << nbits) - 1;
      if (high_surrogate != 0) {
        if (unit < 0xdc00 || unit > 0xdfff) return bad("high surrogate without low surrogate");
        append_utf8(0x10000 + ((high_surrogate - 0xd800) << 10) + (unit - 0xdc00), out);
        high_surrogate = 0;
      } else if (unit >= 0xd800 && unit <= 0xdbff) {
        high_surrogate = unit;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return bad("low surrogate without high surrogate");
      } else if (unit == 0) {
        return bad("NUL encoded in base64");
      } else if (is_direct(unit)) {
        return bad("printable US-ASCII encoded in base64");
      } else {
        append_utf8(unit, out);
      }
    }
    if (!terminated) return bad("unterminated base64 run");
    if (chars == 0) return bad("empty base64 run");
    if (high_surrogate != 0) return bad("high surrogate at end of run");
    // Canonical: fewer than 6 bits left over, and all of them zero.
    if (nbits >= 6) return bad("base64 run has a superfluous character");
    if (bits != 0) return bad("base64 run has non-zero padding bits");
    previous_was_run = true;
  }
  return out;
}

bool mutf7_valid(std::string_view mutf7) {
  return mutf7_decode(mutf7).ok();
}

}  // namespace postern
