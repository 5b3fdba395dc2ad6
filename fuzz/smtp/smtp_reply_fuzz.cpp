// libFuzzer target for lib/smtp/smtp_reply.cpp (SmtpReplyParser, parse_ehlo_capabilities): the parser
// relay runs on every byte a remote SMTP server sends. The first input byte picks how the rest
// is split into feeds; the rest is a server's byte stream. Besides crashes and sanitizer reports
// it checks that every reply has a code in 200..599, at least one line, stays within the
// limits, that consumed counts add up, and that feeding whole and byte by byte agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lib/smtp/smtp_reply.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

struct Outcome {
  std::vector<std::string> replies;  // to_string() of each
  bool failed = false;
};

Outcome run(std::string_view input, size_t piece, const postern::SmtpReplyLimits& limits) {
  postern::SmtpReplyParser parser(limits);
  Outcome out;
  size_t pos = 0;
  size_t rounds = 0;
  while (pos < input.size()) {
    check(++rounds <= 2 * input.size() + 2);
    size_t n = std::min(piece, input.size() - pos);
    postern::ReplyFeedResult r = parser.feed(input.substr(pos, n));
    check(r.consumed <= n);
    pos += r.consumed;
    if (r.event == postern::ReplyEvent::kError) {
      out.failed = true;
      break;
    }
    if (r.event == postern::ReplyEvent::kNeedMore) {
      check(r.consumed == n);
      continue;
    }
    postern::SmtpReply reply = parser.take_reply();
    check(reply.code >= 200 && reply.code <= 599);
    check(!reply.lines.empty() && reply.lines.size() <= limits.max_lines);
    for (const std::string& line : reply.lines) check(line.size() <= limits.max_line_bytes);
    if (!reply.enhanced.empty()) check(reply.enhanced[0] == '0' + reply.code / 100);
    postern::Result<postern::EhloCapabilities> caps = postern::parse_ehlo_capabilities(reply);
    check(caps.ok() == (reply.code == 250));
    if (caps.ok()) check(caps->auth_mechanisms.size() <= postern::kMaxAuthMechanisms);
    out.replies.push_back(reply.to_string());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  postern::SmtpReplyLimits limits;
  if (data[0] & 0x80) limits = postern::SmtpReplyLimits{16, 4, 64};  // reach the limits often
  size_t piece = (data[0] & 0x7f) + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome whole = run(input, input.size() + 1, limits);
  Outcome split = run(input, piece, limits);
  check(whole.failed == split.failed);
  check(whole.replies == split.replies);
  return 0;
}
