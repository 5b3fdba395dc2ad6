// Writes Authentication-Results header values (RFC 8601): postern-authmilter adds one per
// message with the SPF, DKIM, DMARC and ARC results it reached. The values put in come partly
// from the peer (the MAIL FROM address, a DKIM d= tag, a From: domain): they are hostile, so
// every property value and reason that is not an RFC 2045 token (or an addr-spec of tokens) is
// written as a quoted-string, and control characters, bytes >= 0x80 and line breaks in it are
// replaced by '?', so no input can fold, end or add a header field. A comment is written only
// from printable ASCII, with parentheses and backslashes escaped. Each resinfo goes on a line
// of its own (CRLF + TAB), so the field stays readable; no line is cut inside a resinfo.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/authres/authres_types.hpp"

namespace postern {

// A value as RFC 2045 wants it: the text itself when it is a token, otherwise a quoted-string.
std::string authres_quote_value(std::string_view text);
// A property value (RFC 8601 pvalue): a token or a local-part@domain of dot-separated tokens
// as it is (smtp.mailfrom=user@example.org), otherwise a quoted-string.
std::string authres_quote_pvalue(std::string_view text);

// "method[/version]=result [(comment)] [reason=...] [ptype.property=value ...]". The method,
// version, result, ptype and property are ours (keywords), written as given.
std::string format_authres_resinfo(const AuthResultsInfo& info);

class AuthResultsBuilder {
 public:
  explicit AuthResultsBuilder(std::string authserv_id);

  // One resinfo, already formatted (format_authres_resinfo, dmarc_resinfo): "spf=pass ...".
  void add(std::string resinfo);
  void add(const AuthResultsInfo& info) { add(format_authres_resinfo(info)); }

  // The header value, starting with a space, folded between resinfos:
  //   " mx.example.org;\r\n\tspf=pass smtp.mailfrom=a@b;\r\n\tdkim=none"
  // or " mx.example.org; none" when nothing was added.
  std::string value() const;

 private:
  std::string authserv_id_;
  std::vector<std::string> resinfos_;
};

}  // namespace postern
