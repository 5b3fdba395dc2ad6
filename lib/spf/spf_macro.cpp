// SPF macro-strings (RFC 7208 7): one scanner both checks the syntax and, given a context,
// expands. The text and the values are hostile; the output is bounded as spf_macro.hpp says,
// and nothing here asks DNS except through the context's validated_name callback.
#include "lib/spf/spf_macro.hpp"

#include <algorithm>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/spf/spf_domain.hpp"

namespace postern::spf {
namespace {

constexpr char kUpperHex[] = "0123456789ABCDEF";
constexpr std::string_view kDelimiters = ".-+,/_=";

bool is_macro_literal(char c, SpfMacroUse use) {
  auto byte = static_cast<unsigned char>(c);
  if (byte == ' ') return use == SpfMacroUse::kExplanation;
  return byte >= 0x21 && byte <= 0x7e && byte != '%';
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string url_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kUpperHex[byte >> 4];
      out += kUpperHex[byte & 0x0f];
    }
  }
  return out;
}

// Splits on any of the delimiters, optionally reverses, keeps the right-hand `keep` parts
// (0: all) and joins them with dots.
std::string transform(std::string_view value, std::string_view delimiters, bool reverse,
                      size_t keep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (reverse) std::reverse(parts.begin(), parts.end());
  size_t first = (keep != 0 && keep < parts.size()) ? parts.size() - keep : 0;
  std::string out;
  for (size_t i = first; i < parts.size(); ++i) {
    if (i > first) out += '.';
    out.append(parts[i]);
  }
  return out;
}

// The output of an expansion, bounded as the header says.
class Output {
 public:
  explicit Output(SpfMacroUse use) : use_(use) {}

  void append(std::string_view text) {
    if (use_ == SpfMacroUse::kExplanation) {
      size_t room = kMaxSpfExplanationBytes - std::min(text_.size(), kMaxSpfExplanationBytes);
      for (char c : text.substr(0, room)) {
        auto byte = static_cast<unsigned char>(c);
        text_ += (byte < 0x20 || byte > 0x7e) ? '?' : c;
      }
      return;
    }
    if (text.size() > kMaxSpfMacroKeptBytes)
      text = text.substr(text.size() - kMaxSpfMacroKeptBytes);
    text_.append(text);
    if (text_.size() > kMaxSpfMacroWorkBytes) {
      text_.erase(0, text_.size() - kMaxSpfMacroKeptBytes);
    }
  }

  std::string finish() {
    if (use_ == SpfMacroUse::kExplanation) return std::move(text_);
    return spf_truncate_domain(text_);
  }

 private:
  SpfMacroUse use_;
  std::string text_;
};

std::string letter_value(char letter, const SpfMacroContext& context) {
  switch (letter) {
    case 's':
      return std::string(context.sender);
    case 'l':
      return std::string(context.local_part);
    case 'o':
      return std::string(context.sender_domain);
    case 'd':
      return std::string(context.domain);
    case 'i':
      return spf_address_dotted(context.client);
    case 'p': {
      std::string name = context.validated_name ? context.validated_name() : std::string();
      return name.empty() ? std::string("unknown") : name;
    }
    case 'v':
      return context.client.ipv4 ? "in-addr" : "ip6";
    case 'h':
      return std::string(context.helo);
    case 'c':
      return spf_address_text(context.client);
    case 'r':
      return context.receiving_host.empty() ? std::string("unknown")
                                            : std::string(context.receiving_host);
    case 't':
      return std::to_string(context.now_seconds);
  }
  return std::string();
}

// Scans text; with a context, also expands into out. Returns the first syntax error.
Status scan(std::string_view text, SpfMacroUse use, const SpfMacroContext* context, Output* out) {
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '%') {
      if (!is_macro_literal(c, use)) {
        return Error::parse("character " + std::to_string(static_cast<unsigned char>(c)) +
                            " not allowed at offset " + std::to_string(i));
      }
      size_t end = i + 1;
      while (end < text.size() && text[end] != '%' && is_macro_literal(text[end], use)) ++end;
      if (out != nullptr) out->append(text.substr(i, end - i));
      i = end;
      continue;
    }
    if (i + 1 >= text.size()) return Error::parse("'%' at the end of a macro-string");
    char next = text[i + 1];
    if (next == '%' || next == '_' || next == '-') {
      if (out != nullptr) out->append(next == '%' ? "%" : next == '_' ? " " : "%20");
      i += 2;
      continue;
    }
    if (next != '{') {
      return Error::parse("'%' not followed by '{', '%', '_' or '-' at offset " +
                          std::to_string(i));
    }
    size_t position = i + 2;
    if (position >= text.size()) return Error::parse("unterminated macro");
    char letter = text[position];
    char lower = ascii_lower(letter);
    bool known = std::string_view("slodiphv").find(lower) != std::string_view::npos;
    bool explanation_only = std::string_view("crt").find(lower) != std::string_view::npos;
    if (!known && !(explanation_only && use == SpfMacroUse::kExplanation)) {
      return Error::parse(std::string("macro letter '") + letter + "' not allowed here");
    }
    ++position;
    size_t keep = 0;
    size_t digits = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9') {
      keep = std::min(keep * 10 + static_cast<size_t>(text[position] - '0'), kMaxSpfMacroParts + 1);
      ++digits;
      ++position;
    }
    if (digits > 0 && keep == 0) return Error::parse("macro part count 0");
    bool reverse = false;
    if (position < text.size() && ascii_lower(text[position]) == 'r') {
      reverse = true;
      ++position;
    }
    size_t delimiters_start = position;
    while (position < text.size() && kDelimiters.find(text[position]) != std::string_view::npos) {
      ++position;
    }
    std::string_view delimiters = text.substr(delimiters_start, position - delimiters_start);
    if (position >= text.size() || text[position] != '}') {
      return Error::parse("malformed macro at offset " + std::to_string(i));
    }
    ++position;
    if (out != nullptr && context != nullptr) {
      std::string value = letter_value(lower, *context);
      if (digits > 0 || reverse || !delimiters.empty()) {
        value = transform(value, delimiters.empty() ? std::string_view(".") : delimiters, reverse,
                          keep > kMaxSpfMacroParts ? 0 : keep);
      }
      if (letter != lower) value = url_escape(value);
      out->append(value);
    }
    i = position;
  }
  return Status::success();
}

}  // namespace

Status check_spf_macro_string(std::string_view text, SpfMacroUse use) {
  return scan(text, use, nullptr, nullptr);
}

Result<std::string> expand_spf_macro_string(std::string_view text, SpfMacroUse use,
                                            const SpfMacroContext& context) {
  Output out(use);
  Status status = scan(text, use, &context, &out);
  if (!status) return status.error();
  return out.finish();
}

}  // namespace postern::spf
