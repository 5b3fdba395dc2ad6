// SMTP command lines (RFC 5321 4.1) with the ESMTP parameters of RFC 1870 (SIZE), 6152 (BODY),
// 3461 (RET, ENVID, NOTIFY, ORCPT), 4954 (AUTH=), 6531 (SMTPUTF8) and 3030 (BDAT). Run by smtpd
// and submission on every line a client sends: hostile input. The caller bounds the line
// (line_length_limit); here the parameter count, keyword and value lengths and the BDAT size
// digits are bounded, and every error maps to the reply the session should send.
#include "lib/smtp/smtp_command.hpp"

#include <array>
#include <cstdint>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

constexpr size_t kMaxChunkSizeDigits = 20;  // uint64 has at most 20 decimal digits
constexpr size_t kMaxSizeDigits = 20;
constexpr size_t kMaxEnvidBytes = 100;  // RFC 3461 4.4
constexpr size_t kMaxOrcptBytes = 500;  // RFC 3461 4.2

struct VerbName {
  std::string_view name;
  SmtpVerb verb;
};
constexpr std::array<VerbName, 14> kVerbs = {{
    {"HELO", SmtpVerb::kHelo},
    {"EHLO", SmtpVerb::kEhlo},
    {"MAIL", SmtpVerb::kMail},
    {"RCPT", SmtpVerb::kRcpt},
    {"DATA", SmtpVerb::kData},
    {"BDAT", SmtpVerb::kBdat},
    {"RSET", SmtpVerb::kRset},
    {"NOOP", SmtpVerb::kNoop},
    {"QUIT", SmtpVerb::kQuit},
    {"VRFY", SmtpVerb::kVrfy},
    {"EXPN", SmtpVerb::kExpn},
    {"HELP", SmtpVerb::kHelp},
    {"STARTTLS", SmtpVerb::kStarttls},
    {"AUTH", SmtpVerb::kAuth},
}};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// Decimal digits into a uint64 without overflow; at most max_digits digits.
bool parse_u64(std::string_view s, size_t max_digits, uint64_t* out) {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) return false;
    n = n * 10 + digit;
  }
  *out = n;
  return true;
}

SmtpParseResult fail(int code, std::string_view enhanced, std::string text) {
  SmtpParseResult result;
  result.error = SmtpSyntaxError{code, std::string(enhanced), std::move(text)};
  return result;
}

SmtpParseResult bad_param(std::string text) {
  return fail(501, "5.5.4", std::move(text));
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view keyword) {
  if (keyword.empty() || keyword.size() > kMaxEsmtpKeywordBytes || !is_alnum(keyword[0])) {
    return false;
  }
  for (char c : keyword) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126), plus well-formed UTF-8 (RFC 6531).
bool valid_value(std::string_view value) {
  if (value.empty() || value.size() > kMaxEsmtpValueBytes) return false;
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80 && (c < 33 || c > 126 || c == '=')) return false;
  }
  return is_valid_utf8(value);
}

// Syntax of the parameters we know; an empty string when the parameter is fine.
std::string check_known_param(EsmtpParam* param) {
  const std::string& keyword = param->keyword;
  std::string* value = param->value ? &*param->value : nullptr;
  if (keyword == "SMTPUTF8") {
    return value ? "SMTPUTF8 takes no value" : "";
  }
  if (keyword == "SIZE") {
    uint64_t size = 0;
    return value && parse_u64(*value, kMaxSizeDigits, &size) ? "" : "Bad SIZE parameter syntax";
  }
  if (keyword == "BODY") {
    if (value) *value = ascii_uppercase(*value);
    return value && (*value == "7BIT" || *value == "8BITMIME" || *value == "BINARYMIME")
               ? ""
               : "Bad BODY parameter (expected 7BIT, 8BITMIME or BINARYMIME)";
  }
  if (keyword == "RET") {
    if (value) *value = ascii_uppercase(*value);
    return value && (*value == "FULL" || *value == "HDRS") ? "" : "Bad RET parameter syntax";
  }
  if (keyword == "ENVID") {
    if (!value) return "Bad ENVID parameter syntax";
    Result<std::string> decoded = decode_xtext(*value);
    if (!decoded || decoded->size() > kMaxEnvidBytes) return "Bad ENVID parameter syntax";
    return "";
  }
  if (keyword == "AUTH") {
    if (!value) return "Bad AUTH parameter syntax";
    if (*value == "<>") return "";
    return decode_xtext(*value).ok() ? "" : "Bad AUTH parameter syntax";
  }
  if (keyword == "NOTIFY") {
    if (!value) return "Bad NOTIFY parameter syntax";
    *value = ascii_uppercase(*value);
    if (*value == "NEVER") return "";
    bool seen[3] = {false, false, false};
    std::string_view rest = *value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      int index = item == "SUCCESS" ? 0 : item == "FAILURE" ? 1 : item == "DELAY" ? 2 : -1;
      if (index < 0 || seen[index]) return "Bad NOTIFY parameter syntax";
      seen[index] = true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return "";
  }
  if (keyword == "ORCPT") {
    if (!value || value->size() > kMaxOrcptBytes) return "Bad ORCPT parameter syntax";
    size_t semi = value->find(';');
    if (semi == std::string::npos || semi == 0) return "Bad ORCPT parameter syntax";
    std::string_view addr_type = std::string_view(*value).substr(0, semi);
    std::string_view address = std::string_view(*value).substr(semi + 1);
    for (char c : addr_type) {
      if (!is_alnum(c) && c != '-') return "Bad ORCPT parameter syntax";
    }
    if (address.empty()) return "Bad ORCPT parameter syntax";
    // utf-8 addresses (RFC 6533) may carry raw UTF-8 and \x{..}: the value check suffices.
    if (ascii_iequals(addr_type, "utf-8")) return "";
    return decode_xtext(address).ok() ? "" : "Bad ORCPT parameter syntax";
  }
  return "";
}

// MAIL FROM / RCPT TO: prefix is "FROM:" or "TO:"; rest is the text after the verb.
SmtpParseResult parse_mail_rcpt(SmtpCommand command, std::string_view rest, std::string_view prefix,
                                bool is_mail, const SmtpParseOptions& options) {
  const char* address_enhanced = is_mail ? "5.1.7" : "5.1.3";
  std::string address_text = is_mail ? "Bad sender address syntax" : "Bad recipient address syntax";
  if (rest.size() < prefix.size() || !ascii_iequals(rest.substr(0, prefix.size()), prefix)) {
    return fail(501, "5.5.4",
                is_mail ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>");
  }
  rest.remove_prefix(prefix.size());
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // "FROM: <a@b>", as Postfix
  size_t path_end = find_path_end(rest);
  if (path_end == std::string_view::npos) return fail(501, address_enhanced, address_text);
  std::string_view path = rest.substr(0, path_end);
  rest.remove_prefix(path_end);
  if (!rest.empty() && !is_space(rest.front())) return fail(501, address_enhanced, address_text);

  while (true) {
    while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
    if (rest.empty()) break;
    size_t end = 0;
    while (end < rest.size() && !is_space(rest[end])) ++end;
    std::string_view word = rest.substr(0, end);
    rest.remove_prefix(end);
    if (command.params.size() >= kMaxEsmtpParams) {
      return bad_param("Too many parameters");
    }
    size_t eq = word.find('=');
    std::string_view keyword = word.substr(0, eq);
    if (!valid_keyword(keyword)) return bad_param("Bad parameter syntax");
    EsmtpParam param;
    param.keyword = ascii_uppercase(keyword);
    if (eq != std::string_view::npos) {
      std::string_view value = word.substr(eq + 1);
      if (!valid_value(value)) return bad_param("Bad " + param.keyword + " parameter syntax");
      param.value = std::string(value);
    }
    if (find_param(command, param.keyword) != nullptr) {
      return bad_param("Duplicate " + param.keyword + " parameter");
    }
    if (std::string problem = check_known_param(&param); !problem.empty()) {
      return bad_param(std::move(problem));
    }
    command.params.push_back(std::move(param));
  }

  AddressOptions address_options;
  if (is_mail) {
    address_options.allow_null = true;
    address_options.allow_utf8 = find_param(command, "SMTPUTF8") != nullptr;
  } else {
    address_options.allow_utf8 = options.rcpt_utf8_allowed;
    address_options.allow_bare_postmaster = true;
  }
  Result<Address> address = parse_path(path, address_options);
  if (!address) return fail(501, address_enhanced, address_text);
  command.address = std::move(address).value();
  SmtpParseResult result;
  result.command = std::move(command);
  return result;
}

SmtpParseResult parse_bdat(SmtpCommand command) {
  std::string_view rest = command.argument;
  size_t end = 0;
  while (end < rest.size() && !is_space(rest[end])) ++end;
  std::string_view size = rest.substr(0, end);
  rest.remove_prefix(end);
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  if (!parse_u64(size, kMaxChunkSizeDigits, &command.chunk_bytes)) {
    return fail(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
  }
  if (!rest.empty()) {
    if (!ascii_iequals(rest, "LAST")) return fail(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
    command.last_chunk = true;
  }
  SmtpParseResult result;
  result.command = std::move(command);
  return result;
}

}  // namespace

SmtpParseResult parse_smtp_command(std::string_view line) {
  return parse_smtp_command(line, SmtpParseOptions{});
}

SmtpParseResult parse_smtp_command(std::string_view line, const SmtpParseOptions& options) {
  size_t verb_end = 0;
  while (verb_end < line.size() && !is_space(line[verb_end])) ++verb_end;
  SmtpCommand command;
  command.verb_text = std::string(line.substr(0, verb_end));
  std::string_view rest = line.substr(verb_end);
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
  command.argument = std::string(rest);

  for (const VerbName& known : kVerbs) {
    if (ascii_iequals(command.verb_text, known.name)) {
      command.verb = known.verb;
      break;
    }
  }
  auto ok = [&]() {
    SmtpParseResult result;
    result.command = std::move(command);
    return result;
  };
  switch (command.verb) {
    case SmtpVerb::kUnknown:
      return fail(500, "5.5.2", "Error: command not recognized");
    case SmtpVerb::kHelo:
    case SmtpVerb::kEhlo:
      if (rest.empty()) {
        return fail(
            501, "5.5.4",
            command.verb == SmtpVerb::kHelo ? "Syntax: HELO hostname" : "Syntax: EHLO hostname");
      }
      return ok();
    case SmtpVerb::kData:
    case SmtpVerb::kRset:
    case SmtpVerb::kQuit:
    case SmtpVerb::kStarttls:
      if (!rest.empty()) return fail(501, "5.5.4", "Syntax: " + ascii_uppercase(command.verb_text));
      return ok();
    case SmtpVerb::kVrfy:
    case SmtpVerb::kExpn:
      if (rest.empty()) {
        return fail(501, "5.5.4", "Syntax: " + ascii_uppercase(command.verb_text) + " address");
      }
      return ok();
    case SmtpVerb::kAuth:
      if (rest.empty()) return fail(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
      return ok();
    case SmtpVerb::kNoop:
    case SmtpVerb::kHelp:
      return ok();
    case SmtpVerb::kMail:
      return parse_mail_rcpt(std::move(command), rest, "FROM:", true, options);
    case SmtpVerb::kRcpt:
      return parse_mail_rcpt(std::move(command), rest, "TO:", false, options);
    case SmtpVerb::kBdat:
      return parse_bdat(std::move(command));
  }
  return fail(500, "5.5.2", "Error: command not recognized");
}

const EsmtpParam* find_param(const SmtpCommand& command, std::string_view keyword) {
  for (const EsmtpParam& param : command.params) {
    if (ascii_iequals(param.keyword, keyword)) return &param;
  }
  return nullptr;
}

Result<std::string> decode_xtext(std::string_view xtext) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(xtext.size());
  for (size_t i = 0; i < xtext.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(xtext[i]);
    if (c == '+') {
      if (i + 2 >= xtext.size()) return Error::parse("xtext: '+' without two hex digits");
      int high = hex(xtext[i + 1]);
      int low = hex(xtext[i + 2]);
      if (high < 0 || low < 0) return Error::parse("xtext: bad hex after '+'");
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return Error::parse("xtext: character outside 33..126 or '='");
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace postern
