// SMTP command lines (RFC 5321 4.1, with the ESMTP parameters of RFC 1870, 6152, 3461, 6531,
// 3030). Used by smtpd and submission. One line, CRLF already removed; the line comes from the
// network and is hostile. Limits: the caller bounds the line length (line_length_limit); this
// parser bounds the parameter count (kMaxEsmtpParams) and each keyword/value length.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/smtp/address.hpp"
#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxEsmtpParams = 16;
inline constexpr size_t kMaxEsmtpKeywordBytes = 64;
inline constexpr size_t kMaxEsmtpValueBytes = 512;

enum class SmtpVerb {
  kHelo, kEhlo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kVrfy, kExpn, kHelp,
  kStarttls, kAuth, kUnknown,
};

struct EsmtpParam {
  std::string keyword;  // upper-cased
  std::optional<std::string> value;
};

struct SmtpCommand {
  SmtpVerb verb = SmtpVerb::kUnknown;
  std::string verb_text;   // as sent, for the log / 500 reply
  std::string argument;    // everything after the verb and one space (HELO domain, AUTH args...)
  Address address;         // MAIL / RCPT: the parsed path
  std::vector<EsmtpParam> params;  // MAIL / RCPT parameters
  // BDAT: chunk size and LAST
  uint64_t chunk_bytes = 0;
  bool last_chunk = false;
};

// An error carries the reply the server should give, e.g. "501 5.1.7 Bad sender address syntax".
struct SmtpSyntaxError {
  int code = 501;
  std::string enhanced;  // "5.5.4"
  std::string text;
};

struct SmtpParseResult {
  std::optional<SmtpCommand> command;
  std::optional<SmtpSyntaxError> error;
};

struct SmtpParseOptions {
  // RCPT TO paths may carry UTF-8 (RFC 6531). The session sets this to whether its MAIL FROM
  // had SMTPUTF8; the default (true) leaves that check to the session. MAIL FROM needs no flag:
  // its own line is checked for SMTPUTF8 before its path is parsed.
  bool rcpt_utf8_allowed = true;
};

// Parses one command line (CRLF removed). Verbs are case-insensitive. MAIL/RCPT take exactly
// "FROM:"/"TO:", then optionally one space (as Postfix tolerates), then the <path>; ESMTP
// parameters follow, separated by spaces. Unknown ESMTP keywords are returned as they are (the
// session answers 555 for those it did not advertise); known ones are checked for syntax and
// the values of BODY, RET and NOTIFY are upper-cased.
SmtpParseResult parse_smtp_command(std::string_view line);
SmtpParseResult parse_smtp_command(std::string_view line, const SmtpParseOptions& options);

// Finds a parameter by (upper-case) keyword.
const EsmtpParam* find_param(const SmtpCommand& command, std::string_view keyword);

// Decodes RFC 3461 xtext ("+2B" -> '+'); fails on bad hex or characters outside 33..126.
Result<std::string> decode_xtext(std::string_view xtext);

}  // namespace postern
