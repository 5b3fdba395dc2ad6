// sendmail -bs (see smtp_stdio.hpp).
#include "sendmail/smtp_stdio.hpp"

#include <fmt/format.h>
#include <sysexits.h>

#include <optional>
#include <string>
#include <vector>

#include "lib/smtp/address.hpp"
#include "lib/smtp/smtp_command.hpp"

namespace postern::sendmail {
namespace {

enum class LineResult { kLine, kTooLong, kEof };

// One line without its CRLF / LF; a line longer than max_bytes is consumed and reported.
LineResult read_line(std::FILE* in, size_t max_bytes, std::string& line) {
  line.clear();
  bool too_long = false;
  int c = 0;
  while ((c = std::fgetc(in)) != EOF) {
    if (c == '\n') break;
    if (line.size() < max_bytes) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
  if (c == EOF && line.empty() && !too_long) return LineResult::kEof;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return too_long ? LineResult::kTooLong : LineResult::kLine;
}

// "MAIL FROM:<root>" -> "MAIL FROM:<root@origin>": local programs name local users bare.
std::string qualify_path_in(std::string_view line, std::string_view origin) {
  size_t open = line.find('<');
  if (open == std::string_view::npos) return std::string(line);
  size_t end = find_path_end(line.substr(open));
  if (end == std::string_view::npos || end < 3) return std::string(line);  // "<>" stays
  std::string_view inner = line.substr(open + 1, end - 2);
  if (inner.front() == '@') return std::string(line);  // a source route: leave it to the parser
  std::string qualified = qualify_address(inner, origin);
  if (qualified.size() == inner.size()) return std::string(line);
  return std::string(line.substr(0, open + 1)) + qualified + std::string(line.substr(open + end - 1));
}

class StdioSession {
 public:
  StdioSession(std::FILE* in, std::FILE* out, const LocalSubmitter& submitter,
               const SendmailOptions& options, const MainConfig& config)
      : in_(in),
        out_(out),
        submitter_(submitter),
        options_(options),
        hostname_(config.get("myhostname")),
        size_limit_(static_cast<uint64_t>(config.get_size("message_size_limit"))) {}

  int run() {
    reply(fmt::format("220 {} ESMTP Postern", hostname_));
    std::string line;
    while (true) {
      LineResult got = read_line(in_, kMaxStdioLineBytes, line);
      if (got == LineResult::kEof) return EX_OK;
      if (got == LineResult::kTooLong) {
        if (!error("500 5.5.0 Error: line too long")) return EX_PROTOCOL;
        continue;
      }
      std::optional<int> done = command(line);
      if (done) return *done;
    }
  }

 private:
  void reply(const std::string& text) {
    std::fputs(text.c_str(), out_);
    std::fputs("\r\n", out_);
    std::fflush(out_);
  }

  // A bad command: the reply, and false once there were too many.
  bool error(const std::string& text) {
    if (++errors_ >= kMaxStdioErrors) {
      reply(fmt::format("421 4.7.0 {} Error: too many errors", hostname_));
      return false;
    }
    reply(text);
    return true;
  }

  void reset() {
    sender_.reset();
    recipients_.clear();
    transaction_ = options_;
  }

  std::optional<int> command(const std::string& raw) {
    SmtpParseResult parsed = parse_smtp_command(qualify_path_in(raw, submitter_.origin()));
    if (parsed.error) {
      const SmtpSyntaxError& e = *parsed.error;
      if (!error(fmt::format("{} {} {}", e.code, e.enhanced, e.text))) return EX_PROTOCOL;
      return std::nullopt;
    }
    SmtpCommand& cmd = *parsed.command;
    switch (cmd.verb) {
      case SmtpVerb::kHelo:
        reset();
        reply(fmt::format("250 {}", hostname_));
        break;
      case SmtpVerb::kEhlo:
        reset();
        reply(fmt::format("250-{}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-DSN\r\n"
                          "250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES",
                          hostname_, size_limit_));
        break;
      case SmtpVerb::kMail:
        mail(cmd);
        break;
      case SmtpVerb::kRcpt:
        rcpt(cmd);
        break;
      case SmtpVerb::kData:
        if (!data()) return EX_OK;  // EOF inside DATA: nothing was queued
        break;
      case SmtpVerb::kRset:
        reset();
        reply("250 2.0.0 Ok");
        break;
      case SmtpVerb::kNoop:
        reply("250 2.0.0 Ok");
        break;
      case SmtpVerb::kVrfy:
        reply("252 2.0.0 Send mail, it will be tried");
        break;
      case SmtpVerb::kQuit:
        reply("221 2.0.0 Bye");
        return EX_OK;
      default:
        if (!error("502 5.5.2 Error: command not recognized")) return EX_PROTOCOL;
        break;
    }
    return std::nullopt;
  }

  void mail(const SmtpCommand& cmd) {
    if (sender_) {
      error("503 5.5.1 Error: nested MAIL command");
      return;
    }
    reset();
    for (const EsmtpParam& param : cmd.params) {
      const std::string value = param.value.value_or("");
      if (param.keyword == "SIZE" && size_limit_ != 0 && std::strtoull(value.c_str(), nullptr, 10) >
                                                             size_limit_) {
        reply("552 5.3.4 Message size exceeds fixed limit");
        return;
      }
      if (param.keyword == "BODY") transaction_.body_type = value;
      if (param.keyword == "RET") transaction_.ret = value;
      if (param.keyword == "ENVID") {
        Result<std::string> decoded = decode_xtext(value);
        if (decoded) transaction_.envid = *decoded;
      }
    }
    sender_ = cmd.address.to_string();
    reply("250 2.1.0 Ok");
  }

  void rcpt(const SmtpCommand& cmd) {
    if (!sender_) {
      error("503 5.5.1 Error: need MAIL command");
      return;
    }
    if (const EsmtpParam* notify = find_param(cmd, "NOTIFY"); notify && notify->value) {
      transaction_.notify = *notify->value;
    }
    recipients_.push_back(cmd.address.to_string());
    reply("250 2.1.5 Ok");
  }

  // false at EOF before the final ".".
  bool data() {
    if (!sender_) {
      error("503 5.5.1 Error: need MAIL command");
      return true;
    }
    if (recipients_.empty()) {
      error("554 5.5.1 Error: no valid recipients");
      return true;
    }
    reply("354 End data with <CR><LF>.<CR><LF>");
    std::string wire;
    bool too_big = false;
    std::string line;
    while (true) {
      LineResult got = read_line(in_, size_limit_ == 0 ? SIZE_MAX : size_limit_, line);
      if (got == LineResult::kEof) return false;
      if (got == LineResult::kLine && line == ".") break;
      std::string_view text = line;
      if (!text.empty() && text.front() == '.') text.remove_prefix(1);
      if (got == LineResult::kTooLong ||
          (size_limit_ != 0 && wire.size() + text.size() + 2 > size_limit_)) {
        too_big = true;
      }
      if (!too_big) {
        wire += text;
        wire += "\r\n";
      }
    }
    if (too_big) {
      reset();
      reply("552 5.3.4 Message size exceeds fixed limit");
      return true;
    }
    SendmailOptions options = transaction_;
    options.extract_recipients = false;
    int code = submitter_.submit(options, sender_, recipients_, wire);
    reset();
    if (code == EX_OK) {
      reply("250 2.0.0 Ok: queued");
    } else if (code == EX_DATAERR || code == EX_USAGE) {
      reply("554 5.6.0 Error: message refused (see sendmail's standard error)");
    } else {
      reply("451 4.3.0 Error: queue file write error");
    }
    return true;
  }

  std::FILE* in_;
  std::FILE* out_;
  const LocalSubmitter& submitter_;
  const SendmailOptions& options_;
  std::string hostname_;
  uint64_t size_limit_;
  int errors_ = 0;
  std::optional<std::string> sender_;
  std::vector<std::string> recipients_;
  SendmailOptions transaction_;
};

}  // namespace

int run_smtp_stdio(std::FILE* in, std::FILE* out, const LocalSubmitter& submitter,
                   const SendmailOptions& options, const MainConfig& config) {
  return StdioSession(in, out, submitter, options, config).run();
}

}  // namespace postern::sendmail
