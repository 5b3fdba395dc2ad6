// libFuzzer target for lib/smtp/smtp_command.cpp (parse_smtp_command, decode_xtext): the parser
// smtpd and submission run on every command line a client sends. The first input byte picks
// the options; the rest is one command line. Besides crashes and sanitizer reports it checks
// that every line gets exactly one answer, that errors are 5xx replies with an enhanced code,
// and that the parameter limits hold on accepted lines.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "lib/smtp/smtp_command.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  postern::SmtpParseOptions options;
  options.rcpt_utf8_allowed = (data[0] & 1) != 0;
  std::string_view line(reinterpret_cast<const char*>(data) + 1, size - 1);

  postern::SmtpParseResult result = postern::parse_smtp_command(line, options);
  check(result.command.has_value() != result.error.has_value());
  if (result.error) {
    check(result.error->code == 500 || result.error->code == 501);
    check(!result.error->enhanced.empty() && !result.error->text.empty());
  } else {
    const postern::SmtpCommand& command = *result.command;
    check(command.verb != postern::SmtpVerb::kUnknown);
    check(command.params.size() <= postern::kMaxEsmtpParams);
    std::set<std::string> seen;
    for (const postern::EsmtpParam& param : command.params) {
      check(!param.keyword.empty() && param.keyword.size() <= postern::kMaxEsmtpKeywordBytes);
      check(!param.value || param.value->size() <= postern::kMaxEsmtpValueBytes);
      check(seen.insert(param.keyword).second);
    }
    if (command.verb == postern::SmtpVerb::kRcpt) check(!command.address.is_null());
    if (command.verb == postern::SmtpVerb::kMail && !postern::find_param(command, "SMTPUTF8")) {
      for (char c : command.address.to_string()) check(static_cast<unsigned char>(c) < 0x80);
    }
  }
  postern::Result<std::string> decoded = postern::decode_xtext(line);
  if (decoded.ok()) check(decoded->size() <= line.size());
  return 0;
}
