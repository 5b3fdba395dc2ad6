// RFC 5321 envelope addresses (Path, Mailbox), with RFC 6531 UTF-8 when SMTPUTF8 is in effect.
// Used by smtpd and submission on MAIL/RCPT lines, and by qmgr, delivery and the CLI on
// addresses from queue files and the accounts file. Input is hostile: every byte is checked
// against the grammar, UTF-8 must be well-formed, and the RFC 5321 4.5.3.1 limits hold
// (local part 64, domain 255, label 63, path 256 octets). Source routes are parsed and
// dropped; general address literals ("[tag:text]") are refused; "[IPv4]" and "[IPv6:...]"
// literals are checked with inet_pton.
#include "lib/smtp/address.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <fmt/format.h>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

// RFC 5322 atext.
bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
  }
  return false;
}

// RFC 5321 qtextSMTP: printable ASCII and space, except '"' and '\'.
bool is_qtext(unsigned char c) {
  return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

// Length of the well-formed UTF-8 sequence of a non-ASCII character at text[pos], or 0.
size_t utf8_sequence_length(std::string_view text, size_t pos) {
  auto byte = [&](size_t i) -> unsigned {
    return pos + i < text.size() ? static_cast<unsigned char>(text[pos + i]) : 0u;
  };
  auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    unsigned b = byte(i);
    return pos + i < text.size() && b >= lo && b <= hi;
  };
  unsigned b0 = byte(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;  // no overlongs
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;  // no surrogates
  if (b0 == 0xF0) return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;  // <= U+10FFFF
  return 0;
}

void lower_ascii(std::string* s) {
  for (char& c : *s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// Dot-string at the start of text (atoms of atext, or UTF-8 when allow_utf8, joined by single
// dots); stops at the first other character and sets *end there. No length limit here.
Status scan_dot_string(std::string_view text, bool allow_utf8, size_t* end) {
  size_t i = 0;
  bool atom_empty = true;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (is_atext(c)) {
      atom_empty = false;
      ++i;
    } else if (c == '.') {
      if (atom_empty) return Error::parse("empty atom in local part");
      atom_empty = true;
      ++i;
    } else if (c >= 0x80 && allow_utf8) {
      size_t n = utf8_sequence_length(text, i);
      if (n == 0) return Error::parse("malformed UTF-8 in local part");
      atom_empty = false;
      i += n;
    } else if (c >= 0x80) {
      return Error::parse("non-ASCII local part without SMTPUTF8");
    } else {
      break;  // '@' or a character that the caller rejects
    }
  }
  if (atom_empty) return Error::parse(i == 0 ? "empty local part" : "empty atom in local part");
  *end = i;
  return Status::success();
}

// Local-part at the start of text: Dot-string or Quoted-string. On success *consumed is its
// length on the wire and *out the local part with quotes and quoted-pairs removed.
Status parse_local_part(std::string_view text, bool allow_utf8, size_t* consumed,
                        std::string* out) {
  out->clear();
  size_t i = 0;
  if (!text.empty() && text[0] == '"') {
    ++i;
    while (true) {
      if (i >= text.size()) return Error::parse("unterminated quoted local part");
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c == '"') {
        ++i;
        break;
      }
      if (c == '\\') {
        if (i + 1 >= text.size()) return Error::parse("unterminated quoted local part");
        unsigned char q = static_cast<unsigned char>(text[i + 1]);
        if (q < 32 || q > 126) return Error::parse("bad quoted-pair in local part");
        out->push_back(static_cast<char>(q));
        i += 2;
      } else if (is_qtext(c)) {
        out->push_back(static_cast<char>(c));
        ++i;
      } else if (c >= 0x80 && allow_utf8) {
        size_t n = utf8_sequence_length(text, i);
        if (n == 0) return Error::parse("malformed UTF-8 in local part");
        out->append(text.substr(i, n));
        i += n;
      } else if (c >= 0x80) {
        return Error::parse("non-ASCII local part without SMTPUTF8");
      } else {
        return Error::parse("bad character in quoted local part");
      }
    }
  } else {
    if (Status st = scan_dot_string(text, allow_utf8, &i); !st) return st;
    out->assign(text.substr(0, i));
  }
  if (i > kMaxLocalPartBytes) {
    return Error::limit(fmt::format("local part longer than {} bytes", kMaxLocalPartBytes));
  }
  *consumed = i;
  return Status::success();
}

// Domain: sub-domains of letters, digits and inner hyphens (U-labels when allow_utf8).
Status check_domain_name(std::string_view domain, bool allow_utf8) {
  if (domain.empty()) return Error::parse("empty domain");
  if (domain.size() > kMaxDomainBytes) {
    return Error::limit(fmt::format("domain longer than {} bytes", kMaxDomainBytes));
  }
  size_t label_start = 0;
  size_t i = 0;
  while (true) {
    if (i == domain.size() || domain[i] == '.') {
      size_t label_bytes = i - label_start;
      if (label_bytes == 0) {
        return Error::parse(i == domain.size() ? "domain ends with a dot" : "empty domain label");
      }
      if (label_bytes > kMaxLabelBytes) {
        return Error::limit(fmt::format("domain label longer than {} bytes", kMaxLabelBytes));
      }
      if (domain[label_start] == '-' || domain[i - 1] == '-') {
        return Error::parse("domain label starts or ends with '-'");
      }
      if (i == domain.size()) return Status::success();
      label_start = ++i;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(domain[i]);
    if (is_alpha(c) || is_digit(c) || c == '-') {
      ++i;
    } else if (c >= 0x80 && allow_utf8) {
      size_t n = utf8_sequence_length(domain, i);
      if (n == 0) return Error::parse("malformed UTF-8 in domain");
      i += n;
    } else if (c >= 0x80) {
      return Error::parse("non-ASCII domain without SMTPUTF8");
    } else {
      return Error::parse("bad character in domain");
    }
  }
}

// address-literal: "[1.2.3.4]" or "[IPv6:...]". Returns the normalized literal.
Result<std::string> parse_address_literal(std::string_view literal) {
  if (literal.size() > kMaxDomainBytes) {
    return Error::limit(fmt::format("domain longer than {} bytes", kMaxDomainBytes));
  }
  if (literal.size() < 2 || literal.back() != ']')
    return Error::parse("unterminated address literal");
  std::string_view inner = literal.substr(1, literal.size() - 2);
  unsigned char buf[sizeof(struct in6_addr)];
  constexpr std::string_view kIpv6Tag = "IPv6:";
  if (inner.size() >= kIpv6Tag.size() &&
      ascii_iequals(inner.substr(0, kIpv6Tag.size()), kIpv6Tag)) {
    std::string address(inner.substr(kIpv6Tag.size()));
    if (address.find('\0') != std::string::npos || inet_pton(AF_INET6, address.c_str(), buf) != 1) {
      return Error::parse("bad IPv6 address literal");
    }
    lower_ascii(&address);
    return "[IPv6:" + address + "]";
  }
  if (inner.find(':') != std::string_view::npos) {
    return Error::parse("general address literals are not supported");
  }
  std::string address(inner);
  if (address.find('\0') != std::string::npos || inet_pton(AF_INET, address.c_str(), buf) != 1) {
    return Error::parse("bad IPv4 address literal");
  }
  return "[" + address + "]";
}

Result<Address> parse_mailbox_text(std::string_view text, const AddressOptions& options) {
  if (options.allow_bare_postmaster && ascii_iequals(text, "postmaster")) {
    return Address{"postmaster", ""};
  }
  Address address;
  size_t consumed = 0;
  if (Status s = parse_local_part(text, options.allow_utf8, &consumed, &address.local_part); !s) {
    return s.error();
  }
  if (consumed >= text.size() || text[consumed] != '@') {
    return Error::parse("missing '@' after the local part");
  }
  std::string_view domain = text.substr(consumed + 1);
  if (!domain.empty() && domain.front() == '[') {
    Result<std::string> literal = parse_address_literal(domain);
    if (!literal) return literal.error();
    address.domain = std::move(literal).value();
    return address;
  }
  if (Status s = check_domain_name(domain, options.allow_utf8); !s) return s.error();
  address.domain = std::string(domain);
  lower_ascii(&address.domain);
  return address;
}

}  // namespace

std::string qualify_address(std::string_view address, std::string_view origin) {
  size_t after_local = 0;
  if (!address.empty() && address.front() == '"') {
    after_local = 1;
    while (after_local < address.size() && address[after_local] != '"') {
      after_local += address[after_local] == '\\' ? 2 : 1;
    }
    after_local = std::min(after_local + 1, address.size());
  }
  if (address.find('@', after_local) != std::string_view::npos) return std::string(address);
  std::string out(address);
  out.push_back('@');
  out.append(origin);
  return out;
}

std::string Address::to_string() const {
  if (is_null()) return "";
  std::string out;
  if (is_dot_string(local_part, true)) {
    out = local_part;
  } else {
    out.push_back('"');
    for (char c : local_part) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  if (!domain.empty()) {
    out.push_back('@');
    out += domain;
  }
  return out;
}

Result<Address> parse_path(std::string_view text, const AddressOptions& options) {
  if (text.size() > kMaxPathBytes) {
    return Error::limit(fmt::format("path longer than {} bytes", kMaxPathBytes));
  }
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') {
    return Error::parse("path must be enclosed in <>");
  }
  std::string_view inner = text.substr(1, text.size() - 2);
  if (inner.empty()) {
    if (!options.allow_null) return Error::parse("null address <> not allowed here");
    return Address{};
  }
  if (inner.front() == '@') {
    if (!options.allow_source_route) return Error::parse("source route not allowed");
    // A-d-l ":" : "@domain" ("," "@domain")* ":"
    while (true) {
      if (inner.empty() || inner.front() != '@') return Error::parse("bad source route");
      inner.remove_prefix(1);
      size_t end = inner.find_first_of(",:");
      if (end == std::string_view::npos) return Error::parse("bad source route");
      if (Status s = check_domain_name(inner.substr(0, end), options.allow_utf8); !s) {
        return Error{s.error().kind, "source route: " + s.error().message, 0};
      }
      char separator = inner[end];
      inner.remove_prefix(end + 1);
      if (separator == ':') break;
    }
  }
  return parse_mailbox_text(inner, options);
}

Result<Address> parse_mailbox(std::string_view text, const AddressOptions& options) {
  return parse_mailbox_text(text, options);
}

std::string_view strip_extension(std::string_view local_part, std::string_view delimiters) {
  if (delimiters.empty()) return local_part;
  size_t pos = local_part.find_first_of(delimiters);
  if (pos == std::string_view::npos || pos == 0) return local_part;
  return local_part.substr(0, pos);
}

size_t find_path_end(std::string_view text) {
  if (text.empty() || text.front() != '<') return std::string_view::npos;
  bool quoted = false;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8_sequence_length(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool is_dot_string(std::string_view text, bool allow_utf8) {
  size_t end = 0;
  return scan_dot_string(text, allow_utf8, &end).ok() && end == text.size();
}

}  // namespace postern
