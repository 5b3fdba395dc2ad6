// Charset conversion and case folding (lib/mime/charset.hpp) for imapd SEARCH and lib/mime/rfc2047. Input
// is hostile text from mail; iconv descriptors are owned by a move-only guard; conversion output
// is bounded by 4 bytes per input byte (U+FFFD is 3, a UTF-8 character at most 4).
#include "lib/mime/charset.hpp"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "lib/base/ascii.hpp"

namespace postern {

namespace {

class IconvHandle {
 public:
  explicit IconvHandle(const char* from) : handle_(iconv_open("UTF-8", from)) {}
  ~IconvHandle() {
    if (ok()) iconv_close(handle_);
  }
  IconvHandle(const IconvHandle&) = delete;
  IconvHandle& operator=(const IconvHandle&) = delete;
  bool ok() const { return handle_ != reinterpret_cast<iconv_t>(-1); }
  iconv_t get() const { return handle_; }

 private:
  iconv_t handle_;
};

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence at text[pos], or 0 when it is not one (overlongs,
// surrogates and code points past U+10FFFF are invalid).
size_t utf8_sequence(std::string_view text, size_t pos, uint32_t* code_point) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t length;
  uint32_t cp;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return length;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Simple (1:1) case folding for the scripts named in the header; others unchanged.
uint32_t fold(uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;  // Latin-1 capitals
  if (c == 0xB5) return 0x3BC;                               // micro sign -> mu
  if (c >= 0x100 && c <= 0x17F) {                            // Latin Extended-A
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149) return c;
    if (c == 0x178) return 0xFF;
    if (c == 0x17F) return 's';
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
    return (c & 1) ? c : c + 1;
  }
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 0x20;  // Greek capitals
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c == 0x3C2) return 0x3C3;  // final sigma
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;  // Cyrillic
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F)) {
    return (c & 1) ? c : c + 1;
  }
  if (c >= 0x1E00 && c <= 0x1EFF && !(c >= 0x1E96 && c <= 0x1E9F)) {  // Latin Ext. Additional
    return (c & 1) ? c : c + 1;
  }
  if (c >= 0xFF21 && c <= 0xFF3A) return c + 0x20;  // fullwidth Latin capitals
  return c;
}

std::string normalised_charset(std::string_view charset) {
  while (!charset.empty() && (charset.front() == ' ' || charset.front() == '"')) {
    charset.remove_prefix(1);
  }
  while (!charset.empty() && (charset.back() == ' ' || charset.back() == '"')) {
    charset.remove_suffix(1);
  }
  std::string name = ascii_lowercase(charset);
  // Names mail uses that glibc spells otherwise (or covers with a superset). A table rather
  // than "return literal;" lines: GCC 12 warns (-Wrestrict, falsely) on those when inlined.
  static constexpr std::string_view kAliases[][2] = {
      {"ks_c_5601-1987", "cp949"}, {"ks_c_5601", "cp949"},     {"iso-8859-8-i", "iso-8859-8"},
      {"gb2312", "gb18030"},       {"x-gbk", "gb18030"},       {"unicode-1-1-utf-7", "utf-7"},
  };
  for (const auto& alias : kAliases) {
    if (name == alias[0]) {
      name.assign(alias[1].data(), alias[1].size());
      break;
    }
  }
  return name;
}

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t length = utf8_sequence(text, pos, &cp);
    if (length == 0) {
      out += kReplacement;
      ++pos;
    } else {
      out.append(text.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

std::optional<std::string> charset_to_utf8(std::string_view text, std::string_view charset) {
  std::string name = normalised_charset(charset);
  if (name.empty() || name == "utf-8" || name == "utf8" || name == "us-ascii" ||
      name == "ascii" || name == "x-unknown") {
    return sanitize_utf8(text);
  }
  IconvHandle converter(name.c_str());
  if (!converter.ok()) return std::nullopt;
  std::string out;
  out.resize(text.size() * 4 + 16);
  char* in_ptr = const_cast<char*>(text.data());
  size_t in_left = text.size();
  char* out_ptr = out.data();
  size_t out_left = out.size();
  while (in_left > 0) {
    size_t done = iconv(converter.get(), &in_ptr, &in_left, &out_ptr, &out_left);
    if (done != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      size_t used = static_cast<size_t>(out_ptr - out.data());
      out.resize(out.size() * 2);
      out_ptr = out.data() + used;
      out_left = out.size() - used;
      continue;
    }
    // EILSEQ (a bad byte) or EINVAL (cut short at the end): U+FFFD, then go on.
    if (out_left < kReplacement.size()) {
      size_t used = static_cast<size_t>(out_ptr - out.data());
      out.resize(out.size() + 64);
      out_ptr = out.data() + used;
      out_left = out.size() - used;
    }
    std::copy(kReplacement.begin(), kReplacement.end(), out_ptr);
    out_ptr += kReplacement.size();
    out_left -= kReplacement.size();
    ++in_ptr;
    --in_left;
    iconv(converter.get(), nullptr, nullptr, nullptr, nullptr);  // reset the shift state
  }
  // Flush any shift state (stateful encodings such as ISO-2022-JP).
  if (out_left < 16) {
    size_t used = static_cast<size_t>(out_ptr - out.data());
    out.resize(out.size() + 16);
    out_ptr = out.data() + used;
    out_left = out.size() - used;
  }
  iconv(converter.get(), nullptr, nullptr, &out_ptr, &out_left);
  out.resize(static_cast<size_t>(out_ptr - out.data()));
  // iconv's output is not always valid UTF-8: glibc folds a name such as "u#tf-8" to UTF-8 and
  // then passes surrogates and other bytes our reader refuses (found by mime_fuzz). The result
  // must be UTF-8 whatever the charset, so it goes through the same check as the UTF-8 path.
  return sanitize_utf8(out);
}

std::string utf8_casefold(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    size_t length = utf8_sequence(text, pos, &cp);
    if (length == 0) {
      out += kReplacement;
      ++pos;
      continue;
    }
    if (length == 1) {
      out.push_back(ascii_lower(text[pos]));
    } else {
      append_utf8(out, fold(cp));
    }
    pos += length;
  }
  return out;
}

bool utf8_contains_folded(std::string_view haystack, std::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  return utf8_casefold(haystack).find(folded_needle) != std::string::npos;
}

bool utf8_contains_casefold(std::string_view haystack, std::string_view needle) {
  return utf8_contains_folded(haystack, utf8_casefold(needle));
}

}  // namespace postern
