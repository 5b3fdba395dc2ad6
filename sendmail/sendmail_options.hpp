// sendmail(1)'s command line, with Postfix's meanings where Sendmail, Exim and Postfix differ
// (-N is DSN NOTIFY, -t adds command-line recipients to the header ones). Run by sendmail(1) as
// any local user: argv is the caller's and is checked here; nothing in it grants anything
// (-f is allowed to everyone, as in Postfix, and the real user is recorded by pickup).
// The program name selects a mode as Postfix does: mailq = -bp, newaliases = -bi, runq = -q,
// rmail = -i. An unknown option or mode is a UsageError (exit 64, EX_USAGE).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::sendmail {

enum class SendmailMode {
  kDeliver,     // -bm (default): read a message from stdin and queue it
  kSmtpStdio,   // -bs: SMTP on stdin/stdout
  kListQueue,   // -bp, mailq
  kNewAliases,  // -bi, -I, newaliases
  kVerify,      // -bv: check the recipients' syntax and print what they become
  kFlush,       // -q, -qR..., -qS..., runq: deliver the deferred mail now
};

struct SendmailOptions {
  SendmailMode mode = SendmailMode::kDeliver;
  std::optional<std::string> sender;  // -f / -r; "" = the null sender (-f '<>' or -f '')
  std::string full_name;              // -F
  bool extract_recipients = false;    // -t
  bool ignore_dots = false;           // -i, -oi (a lone "." does not end the message)
  std::string body_type;              // -B: "7BIT" or "8BITMIME"
  std::string notify;                 // -N: "NEVER" or a comma list of SUCCESS,FAILURE,DELAY
  std::string ret;                    // -R: "FULL" or "HDRS"
  std::string envid;                  // -V
  bool verbose = false;               // -v
  std::optional<std::string> config_dir;  // -C
  std::vector<std::string> recipients;    // arguments after the options
};

// args: argv[1..]; program: argv[0] (only its last path component counts). Errors (kParse) carry
// the message for "sendmail: ...".
Result<SendmailOptions> parse_sendmail_args(const std::vector<std::string>& args,
                                            std::string_view program);

// The usage text (what -h does not exist for: printed after a usage error).
std::string_view sendmail_usage();

}  // namespace postern::sendmail
