// sendmail(1)'s command line (see sendmail_options.hpp). Options are read getopt-style: several
// flags in one word ("-ti"), a value glued ("-falice") or in the next word ("-f alice"); the
// first word that is not an option, or "--", starts the recipients.
#include "sendmail/sendmail_options.hpp"

#include <string>

#include "lib/base/ascii.hpp"

namespace postern::sendmail {
namespace {

constexpr size_t kMaxEnvidBytes = 100;  // RFC 3461 4.4

Error usage_error(std::string message) { return Error::parse(std::move(message)); }

std::string_view base_name(std::string_view program) {
  size_t slash = program.rfind('/');
  return slash == std::string_view::npos ? program : program.substr(slash + 1);
}

// -N: "never" alone, or a comma list of success, failure, delay.
Result<std::string> parse_notify(std::string_view value) {
  std::string upper = ascii_uppercase(value);
  if (upper == "NEVER") return upper;
  if (upper.empty()) return usage_error("-N needs never or success,failure,delay");
  size_t start = 0;
  while (start <= upper.size()) {
    size_t comma = upper.find(',', start);
    std::string_view word = std::string_view(upper).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (word != "SUCCESS" && word != "FAILURE" && word != "DELAY") {
      return usage_error("-N: \"" + std::string(word) +
                         "\" is not never, success, failure or delay");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return upper;
}

// -o with its letter(s): -oi counts, the others Postfix accepts and ignores.
Status apply_o_option(std::string_view value, SendmailOptions& out) {
  if (value == "i") {
    out.ignore_dots = true;
    return Status::success();
  }
  if (!value.empty() && std::string_view("Ade78m").find(value.front()) != std::string_view::npos) {
    return Status::success();  // -oA..., -odi -odb -odq, -oem -oep, -o7, -o8, -om
  }
  return usage_error("-o" + std::string(value) + ": option not supported");
}

Status apply_b_option(std::string_view value, SendmailOptions& out) {
  if (value == "m") {
    out.mode = SendmailMode::kDeliver;
  } else if (value == "s") {
    out.mode = SendmailMode::kSmtpStdio;
  } else if (value == "p") {
    out.mode = SendmailMode::kListQueue;
  } else if (value == "i") {
    out.mode = SendmailMode::kNewAliases;
  } else if (value == "v") {
    out.mode = SendmailMode::kVerify;
  } else if (value == "d" || value == "D") {
    return usage_error("-b" + std::string(value) +
                       ": the daemons are started by postern-master, not by sendmail");
  } else {
    return usage_error("-b" + std::string(value) + ": mode not supported");
  }
  return Status::success();
}

// One option that takes a value.
Status apply_value_option(char option, std::string_view value, SendmailOptions& out) {
  switch (option) {
    case 'B': {
      std::string upper = ascii_uppercase(value);
      if (upper != "7BIT" && upper != "8BITMIME") {
        return usage_error("-B takes 7BIT or 8BITMIME, not \"" + std::string(value) + "\"");
      }
      out.body_type = upper;
      return Status::success();
    }
    case 'C':
      if (value.empty()) return usage_error("-C needs a configuration directory");
      out.config_dir = std::string(value);
      return Status::success();
    case 'F':
      out.full_name = std::string(value);
      return Status::success();
    case 'N': {
      Result<std::string> notify = parse_notify(value);
      if (!notify) return notify.error();
      out.notify = *notify;
      return Status::success();
    }
    case 'R': {
      std::string upper = ascii_uppercase(value);
      if (upper != "FULL" && upper != "HDRS") return usage_error("-R takes full or hdrs");
      out.ret = upper;
      return Status::success();
    }
    case 'V':
      if (value.empty() || value.size() > kMaxEnvidBytes) {
        return usage_error("-V needs an envelope ID of 1 to 100 characters");
      }
      for (char c : value) {
        if (c < '!' || c > '~') return usage_error("-V: the envelope ID must be printable ASCII");
      }
      out.envid = std::string(value);
      return Status::success();
    case 'b':
      return apply_b_option(value, out);
    case 'f':
    case 'r': {
      std::string_view sender = value;
      if (sender.size() >= 2 && sender.front() == '<' && sender.back() == '>') {
        sender = sender.substr(1, sender.size() - 2);
      }
      out.sender = std::string(sender);
      return Status::success();
    }
    case 'o':
      return apply_o_option(value, out);
    case 'h':  // hop count
    case 'L':  // syslog label
    case 'O':  // Sendmail option=value
    case 'X':  // Sendmail traffic log
      return Status::success();
    default:
      return usage_error(std::string("-") + option + ": option not supported");
  }
}

constexpr std::string_view kValueOptions = "BCFNRVbfrohLOX";
constexpr std::string_view kIgnoredFlags = "mnUG";

}  // namespace

std::string_view sendmail_usage() {
  return "usage: sendmail [-t] [-i] [-f sender] [-F full_name] [-B 7BIT|8BITMIME]\n"
         "                [-N never|success,failure,delay] [-R full|hdrs] [-V envid]\n"
         "                [-C config_dir] [-v] [--] [recipient...]\n"
         "       sendmail -bs | -bp | -bi | -bv recipient... | -q\n"
         "       mailq, newaliases, runq\n";
}

Result<SendmailOptions> parse_sendmail_args(const std::vector<std::string>& args,
                                            std::string_view program) {
  SendmailOptions out;
  std::string_view name = base_name(program);
  if (name == "mailq") out.mode = SendmailMode::kListQueue;
  if (name == "newaliases") out.mode = SendmailMode::kNewAliases;
  if (name == "runq") out.mode = SendmailMode::kFlush;
  if (name == "rmail") out.ignore_dots = true;

  size_t index = 0;
  while (index < args.size()) {
    std::string_view word = args[index];
    if (word == "--") {
      ++index;
      break;
    }
    if (word.size() < 2 || word.front() != '-') break;
    ++index;
    for (size_t pos = 1; pos < word.size(); ++pos) {
      char option = word[pos];
      if (option == 'q') {  // value only when glued: -q, -q1h, -qRsite, -qSsite, -qIid
        out.mode = SendmailMode::kFlush;
        break;
      }
      if (kValueOptions.find(option) != std::string_view::npos) {
        std::string_view value;
        if (pos + 1 < word.size()) {
          value = word.substr(pos + 1);
        } else if (index < args.size()) {
          value = args[index++];
        } else {
          return usage_error(std::string("-") + option + " needs a value");
        }
        if (Status applied = apply_value_option(option, value, out); !applied) {
          return applied.error();
        }
        break;
      }
      if (option == 't') {
        out.extract_recipients = true;
      } else if (option == 'i') {
        out.ignore_dots = true;
      } else if (option == 'v') {
        out.verbose = true;
      } else if (option == 'I') {
        out.mode = SendmailMode::kNewAliases;
      } else if (kIgnoredFlags.find(option) == std::string_view::npos) {
        return usage_error(std::string("-") + option + ": option not supported");
      }
    }
  }
  out.recipients.assign(args.begin() + static_cast<std::ptrdiff_t>(index), args.end());
  return out;
}

}  // namespace postern::sendmail
