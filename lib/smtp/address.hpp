// RFC 5321 envelope addresses (with RFC 6531 UTF-8 when SMTPUTF8 is in effect). Used by smtpd,
// submission, qmgr and delivery. Input comes from the network: hostile. Limits: local part
// 64 octets, domain 255 octets, whole path 256 octets (RFC 5321 4.5.3.1), labels 63 octets.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxLocalPartBytes = 64;
inline constexpr size_t kMaxDomainBytes = 255;
inline constexpr size_t kMaxPathBytes = 256;
inline constexpr size_t kMaxLabelBytes = 63;

struct Address {
  std::string local_part;  // as written: dot-string, or quoted-string with quotes removed
  std::string domain;      // lower-cased; an address literal keeps its brackets "[1.2.3.4]"
  bool is_null() const { return local_part.empty() && domain.empty(); }  // <>
  // local@domain, quoting the local part when it needs it; "" for the null address.
  std::string to_string() const;
};

struct AddressOptions {
  bool allow_utf8 = false;         // SMTPUTF8 given on MAIL FROM
  bool allow_null = false;         // "<>" is valid (MAIL FROM only)
  bool allow_source_route = true;  // "<@a,@b:user@c>" is parsed and the route dropped
  // "<Postmaster>" without a domain (RFC 5321 4.1.1.3, RCPT TO only): local_part "postmaster",
  // empty domain.
  bool allow_bare_postmaster = false;
};

// Parses an RFC 5321 Path including its angle brackets: "<user@example.com>", "<>".
Result<Address> parse_path(std::string_view text, const AddressOptions& options);
// Parses a bare Mailbox "user@example.com" (no brackets), as in accounts and config files.
Result<Address> parse_mailbox(std::string_view text, const AddressOptions& options);

// "root" -> "root@origin"; an address that has a domain is returned as it is. The local part may
// be quoted ("\"john doe\"" -> "\"john doe\"@origin"); the result still needs parse_mailbox.
// Used for locally submitted mail (sendmail(1), pickup), where bare names are normal.
std::string qualify_address(std::string_view address, std::string_view origin);
// Splits "user+tag" at the first delimiter character; returns the part before it. A local part
// that starts with a delimiter ("+tag") is returned whole, as Postfix does.
std::string_view strip_extension(std::string_view local_part, std::string_view delimiters);

// Where the Path that text starts with ends: the index just past its closing '>' (a '>' inside
// a quoted local part does not count), or npos if text does not start with '<' or never ends.
size_t find_path_end(std::string_view text);

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// text is an RFC 5321 Dot-string (with UTF-8 atoms when allow_utf8), i.e. needs no quotes.
bool is_dot_string(std::string_view text, bool allow_utf8);

}  // namespace postern
