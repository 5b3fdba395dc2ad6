// The SPF record parser (RFC 7208 4.6 and 12): version, terms split on spaces, each term a
// mechanism or a modifier checked completely. Input is hostile DNS text, bounded by
// kMaxSpfRecordBytes and kMaxSpfTerms; nothing is evaluated here.
#include "lib/spf/spf_record.hpp"

#include "lib/base/ascii.hpp"
#include "lib/spf/spf_macro.hpp"

namespace postern::spf {
namespace {

constexpr std::string_view kVersion = "v=spf1";

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alphanum(char c) {
  return is_alpha(c) || is_digit(c);
}
bool is_name_char(char c) {
  return is_alphanum(c) || c == '-' || c == '_' || c == '.';
}

Error term_error(std::string_view term, std::string_view why) {
  return Error::parse("term \"" + std::string(term) + "\": " + std::string(why));
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view label) {
  if (label.empty() || !is_alphanum(label.front()) || !is_alphanum(label.back())) return false;
  bool alpha = false;
  bool dash = false;
  for (char c : label) {
    if (c == '-') {
      dash = true;
    } else if (is_alpha(c)) {
      alpha = true;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  return alpha || dash;
}

// True when the (syntax-checked) macro-string ends with a macro-expand: %{...}, %%, %_ or %-.
bool ends_with_macro_expand(std::string_view text) {
  bool last_was_macro = false;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%') {
      last_was_macro = false;
      ++i;
    } else if (i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos) return false;
      last_was_macro = true;
      i = close + 1;
    } else {
      last_was_macro = true;
      i += 2;
    }
  }
  return last_was_macro;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
Status check_domain_spec(std::string_view term, std::string_view spec) {
  if (spec.empty()) return term_error(term, "empty domain-spec");
  Status syntax = check_spf_macro_string(spec, SpfMacroUse::kDomainSpec);
  if (!syntax) return term_error(term, syntax.error().message);
  if (ends_with_macro_expand(spec)) return Status::success();
  std::string_view name = spec;
  if (name.back() == '.') name.remove_suffix(1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) {
    return term_error(term, "domain-spec is a single label");
  }
  if (!is_toplabel(name.substr(dot + 1))) {
    return term_error(term, "domain-spec does not end in a valid top label");
  }
  return Status::success();
}

// A CIDR length: 1 to kMaxSpfCidrDigits digits, no leading zero, at most max_bits.
bool parse_prefix(std::string_view digits, int max_bits, int* bits) {
  if (digits.empty() || digits.size() > kMaxSpfCidrDigits) return false;
  if (digits.size() > 1 && digits.front() == '0') return false;
  int value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return false;
    value = value * 10 + (c - '0');
  }
  if (value > max_bits) return false;
  *bits = value;
  return true;
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]: "", "/N", "//N", "/N//N".
bool parse_dual_cidr(std::string_view text, SpfMechanism* mechanism) {
  if (text.empty()) return true;
  if (text.front() != '/') return false;
  text.remove_prefix(1);
  size_t ip6 = text.find("//");
  if (text.front() != '/') {
    std::string_view ip4_digits = text.substr(0, ip6);
    if (!parse_prefix(ip4_digits, kSpfIpv4Bits, &mechanism->ip4_prefix_bits)) return false;
    if (ip6 == std::string_view::npos) return true;
    text.remove_prefix(ip6 + 1);  // now "/N", as in the "//N" form
  }
  if (text.size() < 2 || text[0] != '/' || text[1] == '/') return false;
  return parse_prefix(text.substr(1), kSpfIpv6Bits, &mechanism->ip6_prefix_bits);
}

// The length of a trailing dual-cidr-length ("/24", "//64", "/24//64") of a domain-spec.
size_t trailing_cidr_length(std::string_view text) {
  size_t end = text.size();
  size_t j = end;
  while (j > 0 && is_digit(text[j - 1])) --j;
  if (j < end && j >= 2 && text[j - 1] == '/' && text[j - 2] == '/') end = j - 2;
  j = end;
  while (j > 0 && is_digit(text[j - 1])) --j;
  if (j < end && j >= 1 && text[j - 1] == '/') end = j - 1;
  return text.size() - end;
}

Result<SpfMechanism> parse_mechanism(std::string_view term) {
  SpfMechanism mechanism;
  mechanism.text = std::string(term);
  std::string_view rest = term;
  switch (rest.front()) {
    case '+':
      mechanism.qualifier = SpfQualifier::kPass;
      rest.remove_prefix(1);
      break;
    case '-':
      mechanism.qualifier = SpfQualifier::kFail;
      rest.remove_prefix(1);
      break;
    case '~':
      mechanism.qualifier = SpfQualifier::kSoftFail;
      rest.remove_prefix(1);
      break;
    case '?':
      mechanism.qualifier = SpfQualifier::kNeutral;
      rest.remove_prefix(1);
      break;
    default:
      break;
  }
  size_t name_end = rest.find_first_of(":/");
  std::string name = ascii_lowercase(rest.substr(0, name_end));
  rest.remove_prefix(name_end == std::string_view::npos ? rest.size() : name_end);
  bool has_domain = !rest.empty() && rest.front() == ':';
  std::string_view argument = has_domain ? rest.substr(1) : std::string_view();

  if (name == "all") {
    mechanism.kind = SpfMechanismKind::kAll;
    if (!rest.empty()) return term_error(term, "all takes no argument");
    return mechanism;
  }
  if (name == "include" || name == "exists") {
    mechanism.kind = name == "include" ? SpfMechanismKind::kInclude : SpfMechanismKind::kExists;
    if (!has_domain) return term_error(term, name + " needs \":\" and a domain-spec");
    Status spec = check_domain_spec(term, argument);
    if (!spec) return spec.error();
    mechanism.domain_spec = std::string(argument);
    return mechanism;
  }
  if (name == "a" || name == "mx") {
    mechanism.kind = name == "a" ? SpfMechanismKind::kA : SpfMechanismKind::kMx;
    std::string_view cidr = rest;
    if (has_domain) {
      size_t cidr_length = trailing_cidr_length(argument);
      std::string_view spec = argument.substr(0, argument.size() - cidr_length);
      cidr = argument.substr(argument.size() - cidr_length);
      Status checked = check_domain_spec(term, spec);
      if (!checked) return checked.error();
      mechanism.domain_spec = std::string(spec);
    }
    if (!parse_dual_cidr(cidr, &mechanism)) return term_error(term, "bad CIDR length");
    return mechanism;
  }
  if (name == "ptr") {
    mechanism.kind = SpfMechanismKind::kPtr;
    if (!has_domain) {
      if (!rest.empty()) return term_error(term, "ptr takes no CIDR length");
      return mechanism;
    }
    Status spec = check_domain_spec(term, argument);
    if (!spec) return spec.error();
    mechanism.domain_spec = std::string(argument);
    return mechanism;
  }
  if (name == "ip4" || name == "ip6") {
    bool ipv4 = name == "ip4";
    mechanism.kind = ipv4 ? SpfMechanismKind::kIp4 : SpfMechanismKind::kIp6;
    if (!has_domain) return term_error(term, name + " needs \":\" and a network");
    size_t slash = argument.find('/');
    std::string_view address_text = argument.substr(0, slash);
    Result<SpfAddress> network = ipv4 ? parse_spf_ipv4(address_text) : parse_spf_ipv6(address_text);
    if (!network) return term_error(term, network.error().message);
    mechanism.network = *network;
    if (slash != std::string_view::npos) {
      int* bits = ipv4 ? &mechanism.ip4_prefix_bits : &mechanism.ip6_prefix_bits;
      if (!parse_prefix(argument.substr(slash + 1), ipv4 ? kSpfIpv4Bits : kSpfIpv6Bits, bits)) {
        return term_error(term, "bad CIDR length");
      }
    }
    return mechanism;
  }
  return term_error(term, "unknown mechanism");
}

}  // namespace

bool is_spf_record(std::string_view text) {
  if (text.size() < kVersion.size()) return false;
  if (!ascii_iequals(text.substr(0, kVersion.size()), kVersion)) return false;
  return text.size() == kVersion.size() || text[kVersion.size()] == ' ';
}

bool spf_mechanism_queries_dns(SpfMechanismKind kind) {
  switch (kind) {
    case SpfMechanismKind::kInclude:
    case SpfMechanismKind::kA:
    case SpfMechanismKind::kMx:
    case SpfMechanismKind::kPtr:
    case SpfMechanismKind::kExists:
      return true;
    default:
      return false;
  }
}

Result<SpfRecord> parse_spf_record(std::string_view text) {
  if (text.size() > kMaxSpfRecordBytes) {
    return Error::limit("record of " + std::to_string(text.size()) + " octets, more than " +
                        std::to_string(kMaxSpfRecordBytes));
  }
  if (!is_spf_record(text)) return Error::parse("not a v=spf1 record");
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) {
      return Error::parse("octet " + std::to_string(byte) + " is not printable ASCII");
    }
  }
  SpfRecord record;
  size_t terms = 0;
  size_t position = kVersion.size();
  while (position < text.size()) {
    if (text[position] == ' ') {
      ++position;
      continue;
    }
    size_t end = text.find(' ', position);
    if (end == std::string_view::npos) end = text.size();
    std::string_view term = text.substr(position, end - position);
    position = end;
    if (++terms > kMaxSpfTerms) {
      return Error::limit("more than " + std::to_string(kMaxSpfTerms) + " terms");
    }
    size_t name_end = 0;
    while (name_end < term.size() && is_name_char(term[name_end])) ++name_end;
    bool modifier = name_end < term.size() && term[name_end] == '=';
    if (!modifier) {
      Result<SpfMechanism> mechanism = parse_mechanism(term);
      if (!mechanism) return mechanism.error();
      record.mechanisms.push_back(std::move(*mechanism));
      continue;
    }
    std::string_view name = term.substr(0, name_end);
    std::string_view value = term.substr(name_end + 1);
    if (name.empty() || !is_alpha(name.front())) {
      return term_error(term, "a modifier name starts with a letter");
    }
    if (ascii_iequals(name, "redirect") || ascii_iequals(name, "exp")) {
      bool redirect = ascii_iequals(name, "redirect");
      std::optional<std::string>& slot = redirect ? record.redirect : record.explanation;
      if (slot) return term_error(term, "modifier given twice");
      Status spec = check_domain_spec(term, value);
      if (!spec) return spec.error();
      slot = std::string(value);
      continue;
    }
    // An unknown modifier: its value must be a macro-string; then it is ignored (RFC 7208 6).
    Status syntax = check_spf_macro_string(value, SpfMacroUse::kExplanation);
    if (!syntax) return term_error(term, syntax.error().message);
  }
  return record;
}

}  // namespace postern::spf
