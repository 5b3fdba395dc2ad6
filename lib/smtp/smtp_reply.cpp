// SMTP reply parser and EHLO capability reader for relay (see smtp_reply.hpp). Everything here
// reads bytes a remote server sent: every buffer is bounded by SmtpReplyLimits before it grows.
#include "lib/smtp/smtp_reply.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Length of an RFC 3463 code "c.sss.ddd" of class class_digit at the start of text, followed by
// a space or the end; 0 when there is none.
size_t enhanced_code_length(std::string_view text, char class_digit) {
  if (text.size() < 5 || text[0] != class_digit || text[1] != '.') return 0;
  size_t pos = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (pos < text.size() && is_digit(text[pos]) && digits < 4) {
      ++pos;
      ++digits;
    }
    if (digits == 0 || digits > 3) return 0;
    if (part == 0) {
      if (pos >= text.size() || text[pos] != '.') return 0;
      ++pos;
    }
  }
  if (pos < text.size() && text[pos] != ' ') return 0;
  return pos;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\t') ++pos;
    if (pos > start) words.push_back(text.substr(start, pos - start));
  }
  return words;
}

bool valid_sasl_mechanism(std::string_view name) {
  if (name.empty() || name.size() > kMaxSaslMechanismBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    c = ascii_upper(c);
    return (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
  });
}

}  // namespace

std::string SmtpReply::to_string() const {
  std::string out = fmt::format("{}", code);
  if (!enhanced.empty()) out += " " + enhanced;
  for (const std::string& line : lines) {
    if (line.empty()) continue;
    out += ' ';
    out += line;
  }
  return out;
}

ReplyFeedResult SmtpReplyParser::fail(size_t consumed, Error error) {
  failed_ = true;
  error_ = std::move(error);
  return ReplyFeedResult{consumed, ReplyEvent::kError};
}

ReplyFeedResult SmtpReplyParser::feed(std::string_view input) {
  if (failed_) return ReplyFeedResult{0, ReplyEvent::kError};
  if (done_) return ReplyFeedResult{0, ReplyEvent::kReply};  // take_reply() first
  size_t pos = 0;
  while (pos < input.size()) {
    const void* lf = std::memchr(input.data() + pos, '\n', input.size() - pos);
    size_t end =
        lf ? static_cast<size_t>(static_cast<const char*>(lf) - input.data()) : input.size();
    size_t piece = end - pos;
    // A line may hold max_line_bytes plus the CR of its CRLF.
    if (line_.size() + piece > limits_.max_line_bytes + 1) {
      return fail(pos, Error::limit(
                           fmt::format("reply line longer than {} bytes", limits_.max_line_bytes)));
    }
    if (reply_bytes_ + piece + (lf ? 1 : 0) > limits_.max_reply_bytes) {
      return fail(pos,
                  Error::limit(fmt::format("reply longer than {} bytes", limits_.max_reply_bytes)));
    }
    line_.append(input.substr(pos, piece));
    reply_bytes_ += piece;
    pos = end;
    if (!lf) break;
    // A line longer than the limit, or whose extra byte is not the CR of its CRLF.
    bool had_cr = !line_.empty() && line_.back() == '\r';
    if (had_cr) line_.pop_back();
    if (line_.size() > limits_.max_line_bytes) {
      return fail(pos, Error::limit(
                           fmt::format("reply line longer than {} bytes", limits_.max_line_bytes)));
    }
    ++pos;  // the LF
    ++reply_bytes_;
    if (!had_cr) current_.bare_lf = true;
    std::string line = std::move(line_);
    line_.clear();
    if (!take_line(line)) return ReplyFeedResult{pos, ReplyEvent::kError};
    if (done_) return ReplyFeedResult{pos, ReplyEvent::kReply};
  }
  if (line_.size() > limits_.max_line_bytes &&
      !(line_.size() == limits_.max_line_bytes + 1 && line_.back() == '\r')) {
    return fail(
        pos, Error::limit(fmt::format("reply line longer than {} bytes", limits_.max_line_bytes)));
  }
  return ReplyFeedResult{pos, ReplyEvent::kNeedMore};
}

bool SmtpReplyParser::take_line(std::string_view line) {
  auto bad = [&](std::string why) {
    failed_ = true;
    error_ = Error::parse(std::move(why));
    return false;
  };
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    return bad("reply line does not start with a three-digit code");
  }
  if (line[0] < '2' || line[0] > '5') return bad("reply code outside 200..599");
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  bool last = true;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      return bad("reply code not followed by space or hyphen");
    }
  }
  if (current_.lines.empty()) {
    current_.code = code;
  } else if (code != current_.code) {
    return bad(fmt::format("multi-line reply mixes codes {} and {}", current_.code, code));
  }
  if (current_.lines.size() >= limits_.max_lines) {
    return bad(fmt::format("reply has more than {} lines", limits_.max_lines));
  }
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
  if (current_.lines.empty()) {
    // Enhanced codes exist for classes 2, 4 and 5 (RFC 3463 3.1); the class must match.
    if (line[0] != '3') {
      size_t length = enhanced_code_length(text, line[0]);
      if (length > 0) current_.enhanced = std::string(text.substr(0, length));
    }
  }
  if (!current_.enhanced.empty() && text.substr(0, current_.enhanced.size()) == current_.enhanced &&
      (text.size() == current_.enhanced.size() || text[current_.enhanced.size()] == ' ')) {
    text.remove_prefix(std::min(text.size(), current_.enhanced.size() + 1));
  }
  current_.lines.emplace_back(text);
  if (last) done_ = true;
  return true;
}

SmtpReply SmtpReplyParser::take_reply() {
  SmtpReply reply = std::move(current_);
  current_ = SmtpReply();
  reply_bytes_ = 0;
  done_ = false;
  return reply;
}

void SmtpReplyParser::reset() {
  line_.clear();
  current_ = SmtpReply();
  reply_bytes_ = 0;
  done_ = false;
  failed_ = false;
  error_ = Error();
}

Result<SmtpReply> parse_smtp_reply(std::string_view text, SmtpReplyLimits limits) {
  SmtpReplyParser parser(limits);
  ReplyFeedResult result = parser.feed(text);
  if (result.event == ReplyEvent::kError) return parser.error();
  if (result.event == ReplyEvent::kNeedMore) return Error::parse("incomplete reply");
  if (result.consumed != text.size()) return Error::parse("bytes after the reply");
  return parser.take_reply();
}

bool EhloCapabilities::has_auth(std::string_view mechanism) const {
  return std::any_of(auth_mechanisms.begin(), auth_mechanisms.end(),
                     [&](const std::string& m) { return ascii_iequals(m, mechanism); });
}

Result<EhloCapabilities> parse_ehlo_capabilities(const SmtpReply& reply) {
  if (reply.code != 250) return Error::parse(fmt::format("EHLO answered {}", reply.code));
  EhloCapabilities caps;
  if (!reply.lines.empty()) {
    std::vector<std::string_view> words = split_words(reply.lines[0]);
    if (!words.empty()) caps.server_name = std::string(words[0]);
  }
  for (size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    std::vector<std::string_view> words = split_words(line);
    if (words.empty()) continue;
    std::string_view keyword = words[0];
    std::vector<std::string_view> args(words.begin() + 1, words.end());
    // The pre-RFC "AUTH=LOGIN PLAIN" form some servers still send.
    if (keyword.size() > 5 && ascii_iequals(keyword.substr(0, 5), "AUTH=")) {
      args.insert(args.begin(), keyword.substr(5));
      keyword = keyword.substr(0, 4);
    }
    if (ascii_iequals(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (ascii_iequals(keyword, "SIZE")) {
      caps.size = true;
      caps.size_limit = 0;
      if (!args.empty() && args[0].size() <= 19 &&
          std::all_of(args[0].begin(), args[0].end(), is_digit)) {
        uint64_t value = 0;
        for (char c : args[0]) value = value * 10 + static_cast<uint64_t>(c - '0');
        caps.size_limit = value;
      }
    } else if (ascii_iequals(keyword, "8BITMIME")) {
      caps.eight_bit_mime = true;
    } else if (ascii_iequals(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (ascii_iequals(keyword, "DSN")) {
      caps.dsn = true;
    } else if (ascii_iequals(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (ascii_iequals(keyword, "CHUNKING")) {
      caps.chunking = true;
    } else if (ascii_iequals(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (ascii_iequals(keyword, "AUTH")) {
      for (std::string_view mechanism : args) {
        if (caps.auth_mechanisms.size() >= kMaxAuthMechanisms) break;
        if (!valid_sasl_mechanism(mechanism) || caps.has_auth(mechanism)) continue;
        caps.auth_mechanisms.push_back(ascii_uppercase(mechanism));
      }
    }
  }
  return caps;
}

}  // namespace postern
