// The From: domain (see author_domain.hpp).
#include "authmilter/author_domain.hpp"

#include "lib/base/ascii.hpp"
#include "lib/mime/message_headers.hpp"

namespace postern::authmilter {
namespace {

bool is_domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// The value with quoted strings and (nested) comments replaced by a space: what remains are
// the words that can hold addresses.
std::string outside_quotes_and_comments(std::string_view value) {
  std::string kept;
  kept.reserve(value.size());
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if ((quoted || depth > 0) && c == '\\') {
      ++i;  // a quoted-pair: the next byte is taken as it is
      continue;
    }
    if (quoted) {
      if (c == '"') {
        quoted = false;
        kept += ' ';
      }
      continue;
    }
    if (c == '(') {
      ++depth;
      continue;
    }
    if (depth > 0) {
      if (c == ')') {
        --depth;
        if (depth == 0) kept += ' ';
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      continue;
    }
    kept += c;
  }
  return kept;
}

std::string domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view domain = address.substr(at + 1);
  while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return {};
  for (char c : domain) {
    if (!is_domain_char(c)) return {};
  }
  return ascii_lowercase(domain);
}

}  // namespace

std::vector<std::string> lenient_from_addresses(std::string_view value) {
  std::string text = outside_quotes_and_comments(value);
  std::vector<std::string> found;
  size_t i = 0;
  while (i < text.size() && found.size() < kMaxFromAddresses) {
    // A word: what lies between white space, commas, semicolons and angle brackets.
    auto is_break = [](char c) {
      return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ';' || c == '<' ||
             c == '>';
    };
    while (i < text.size() && is_break(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_break(text[i])) ++i;
    std::string_view word(text.data() + start, i - start);
    size_t at = word.find('@');
    if (at == std::string_view::npos || at == 0) continue;
    // "From:<joe@joe.com>" and group names: the local part starts after the last colon.
    size_t colon = word.rfind(':', at);
    if (colon != std::string_view::npos) word.remove_prefix(colon + 1);
    if (word.find('@') == 0 || domain_of(word).empty()) continue;
    found.emplace_back(word);
  }
  return found;
}

std::string author_domain(const std::vector<HeaderField>& headers, std::string& why) {
  const HeaderField* from = nullptr;
  for (const HeaderField& field : headers) {
    if (!ascii_iequals(field.name, "From")) continue;
    if (from != nullptr) {
      why = "more than one From: field";
      return {};
    }
    from = &field;
  }
  if (from == nullptr) {
    why = "no From: field";
    return {};
  }
  std::vector<std::string> addresses;
  if (Result<std::vector<std::string>> strict = parse_address_list(from->value); strict) {
    addresses = std::move(strict).value();
  } else {
    addresses = lenient_from_addresses(from->value);
  }
  std::string domain;
  for (const std::string& address : addresses) {
    std::string this_domain = domain_of(address);
    if (this_domain.empty()) continue;
    if (!domain.empty() && this_domain != domain) {
      why = "From: names more than one domain";
      return {};
    }
    domain = this_domain;
  }
  if (domain.empty()) why = "From: holds no address with a domain";
  return domain;
}

}  // namespace postern::authmilter
