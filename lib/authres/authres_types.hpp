// The pieces of an Authentication-Results header field (RFC 8601) as our writer takes them and
// our parser returns them: one resinfo per evaluated method, with its result, optional reason
// and properties, and the RFC 2045 token alphabet both use. Plain data shared by authres_writer
// and authres_parser; nothing here is trusted or checked by itself (the parser bounds what it
// fills in, see authres_parser.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern {

// RFC 2045 5.1 token characters: US-ASCII CHAR except SPACE, CTLs and tspecials. A value made
// of them is written bare; anything else is a quoted-string.
constexpr bool is_authres_token_char(char c) {
  constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";
  unsigned char u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && kTspecials.find(c) == std::string_view::npos;
}

// ptype.property=value, e.g. smtp.mailfrom=user@example.org or header.d=example.org.
struct AuthResultsProperty {
  std::string ptype;     // "smtp", "header", "body", "policy" (lower-cased by the parser)
  std::string property;  // "mailfrom", "d", "from" (lower-cased by the parser)
  std::string value;     // unquoted
};

// One "method=result" clause: spf=pass, dkim/1=fail reason="..." header.d=...
struct AuthResultsInfo {
  std::string method;          // "spf", "dkim", "dmarc", "arc" (lower-cased by the parser)
  std::string method_version;  // digits, "" when absent
  std::string result;          // "pass", "fail", "none", ... (lower-cased by the parser)
  std::string reason;          // unquoted; "" when absent
  // A comment written after the result (the writer's only; the parser skips comments).
  std::string comment;
  std::vector<AuthResultsProperty> properties;
};

}  // namespace postern
