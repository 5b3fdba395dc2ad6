// SMTP replies on the client side (RFC 5321 4.2, enhanced status codes RFC 3463/2034) and the
// EHLO capability list (RFC 5321 4.1.1.1 with the extensions relay uses). Used by relay. The
// bytes come from a remote SMTP server and are hostile. An incremental parser: feed it bytes
// as they arrive (an evbuffer's contents, one byte or a pipelined batch at a time) and take
// complete replies out. Limits (SmtpReplyLimits): line length, lines per reply, bytes per
// reply; past any of them the parser fails and the caller drops the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

struct SmtpReplyLimits {
  size_t max_line_bytes = 2048;        // one line without its line end (Postfix line_length_limit)
  size_t max_lines = 1000;             // lines in one multi-line reply
  size_t max_reply_bytes = 64 * 1024;  // one reply's bytes on the wire, line ends included
};

struct SmtpReply {
  int code = 0;                    // 200..599
  std::string enhanced;            // "5.1.1" when the first line carries one (RFC 3463), else empty
  std::vector<std::string> lines;  // each line's text, without code, separator and enhanced code
  bool bare_lf = false;            // some line ended in LF alone (accepted, as Postfix does)

  // "550 5.1.1 text text2": for logs and DSNs (lines joined by one space; not yet printable()).
  std::string to_string() const;
  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
};

enum class ReplyEvent {
  kNeedMore,  // every byte given was consumed and no reply is complete yet
  kReply,     // a reply is complete: take_reply(); bytes after it were not consumed
  kError,     // the input is not SMTP or broke a limit: error(); stop feeding
};

struct ReplyFeedResult {
  size_t consumed = 0;  // bytes of this input used (on kReply: up to the end of its last line)
  ReplyEvent event = ReplyEvent::kNeedMore;
};

class SmtpReplyParser {
 public:
  explicit SmtpReplyParser(SmtpReplyLimits limits = {}) : limits_(limits) {}

  // Feeds the next bytes; stops after one complete reply so pipelined replies come out one by
  // one (feed the rest again). After kError the parser stays failed until reset().
  ReplyFeedResult feed(std::string_view input);
  // The reply completed by the last kReply; the parser then starts on the next reply.
  SmtpReply take_reply();
  const Error& error() const { return error_; }
  // True while part of a reply has been read (a connection closing now lost a reply).
  bool in_reply() const { return !line_.empty() || !current_.lines.empty(); }
  void reset();

 private:
  ReplyFeedResult fail(size_t consumed, Error error);
  // Parses one complete line (without its line end); sets done_ when it was the last line.
  bool take_line(std::string_view line);

  SmtpReplyLimits limits_;
  std::string line_;  // the line being read, bounded by max_line_bytes (+1 for a CR)
  SmtpReply current_;
  size_t reply_bytes_ = 0;
  bool done_ = false;
  bool failed_ = false;
  Error error_;
};

// Parses one reply from a complete buffer (tests, tools). Fails unless the buffer holds exactly
// one reply.
Result<SmtpReply> parse_smtp_reply(std::string_view text, SmtpReplyLimits limits = {});

inline constexpr size_t kMaxAuthMechanisms = 32;
inline constexpr size_t kMaxSaslMechanismBytes = 20;  // RFC 4422 3.1

// What a server announced in its EHLO reply.
struct EhloCapabilities {
  std::string server_name;  // the first line's first word
  bool pipelining = false;
  bool size = false;
  uint64_t size_limit = 0;  // SIZE's argument; 0: none announced (or not a number)
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool starttls = false;
  bool chunking = false;
  bool enhanced_status_codes = false;
  std::vector<std::string> auth_mechanisms;  // upper-cased, "AUTH x y" and "AUTH=x y" merged,
                                             // without duplicates, at most kMaxAuthMechanisms
  bool has_auth(std::string_view mechanism) const;
};

// Reads the capability lines of a 250 EHLO reply; any other code is an error. Unknown keywords
// are ignored; keywords are case-insensitive.
Result<EhloCapabilities> parse_ehlo_capabilities(const SmtpReply& reply);

}  // namespace postern
