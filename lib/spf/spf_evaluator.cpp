// check_host() (RFC 7208 4 to 6) over lib/net's DnsLookup: record lookup and selection, the
// mechanisms in order, include and redirect, the explanation of a fail. DNS answers, records,
// the sender and the HELO are hostile; the limits are SpfLimits (see spf_evaluator.hpp), the
// record and macro bounds those of spf_record.hpp and spf_macro.hpp.
#include "lib/spf/spf_evaluator.hpp"

#include <optional>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_message.hpp"
#include "lib/spf/spf_address.hpp"
#include "lib/spf/spf_domain.hpp"
#include "lib/spf/spf_macro.hpp"
#include "lib/spf/spf_record.hpp"

namespace postern::spf {
namespace {

// What one check_host() call (or one mechanism) concluded.
struct Outcome {
  SpfResultCode code = SpfResultCode::kNeutral;
  std::string problem;
  std::string explanation;
  std::string mechanism;
};

enum class MatchKind { kNoMatch, kMatch, kError };

struct Match {
  MatchKind kind = MatchKind::kNoMatch;
  Outcome error;  // kError: temperror or permerror, with the problem
};

Match no_match() {
  return Match{};
}
Match matched() {
  return Match{MatchKind::kMatch, {}};
}
Match failed(SpfResultCode code, std::string problem) {
  return Match{MatchKind::kError, Outcome{code, std::move(problem), {}, {}}};
}

SpfResultCode qualifier_result(SpfQualifier qualifier) {
  switch (qualifier) {
    case SpfQualifier::kPass:
      return SpfResultCode::kPass;
    case SpfQualifier::kFail:
      return SpfResultCode::kFail;
    case SpfQualifier::kSoftFail:
      return SpfResultCode::kSoftFail;
    case SpfQualifier::kNeutral:
      return SpfResultCode::kNeutral;
  }
  return SpfResultCode::kNeutral;
}

std::string dns_problem(std::string_view name, const DnsAnswer& answer) {
  return "DNS error for " + std::string(name) + ": " +
         (answer.reason.empty() ? std::string("no usable answer") : answer.reason);
}

bool is_void(const DnsAnswer& answer) {
  return answer.status == DnsLookupStatus::kNxDomain ||
         (answer.status == DnsLookupStatus::kOk && answer.values.empty());
}

bool is_dns_error(const DnsAnswer& answer) {
  return answer.status == DnsLookupStatus::kTemporary ||
         answer.status == DnsLookupStatus::kMalformed;
}

bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) return false;
  }
  return true;
}

class Evaluation {
 public:
  Evaluation(DnsLookup& dns, const SpfLimits& limits, const SpfRequest& request, SpfAddress client,
             std::string local_part, std::string sender_domain)
      : dns_(dns),
        limits_(limits),
        request_(request),
        client_(client),
        local_part_(std::move(local_part)),
        sender_domain_(std::move(sender_domain)),
        sender_(local_part_ + "@" + sender_domain_) {}

  // explain: compute the explanation of a fail (not inside an include, whose fail only means
  // "no match" to the record that included it).
  Outcome check_host(const std::string& domain, size_t depth, bool explain_fail) {
    if (depth > limits_.max_recursion_depth) {
      return Outcome{SpfResultCode::kPermError, "include/redirect nested too deep", {}, {}};
    }
    DnsAnswer txt = dns_.lookup_one(domain, kDnsTypeTxt);
    if (txt.status == DnsLookupStatus::kNxDomain) return Outcome{SpfResultCode::kNone, {}, {}, {}};
    if (is_dns_error(txt)) {
      return Outcome{SpfResultCode::kTempError, dns_problem(domain, txt), {}, {}};
    }
    const std::string* found = nullptr;
    for (const std::string& text : txt.values) {
      if (!is_spf_record(text)) continue;
      if (found != nullptr) {
        return Outcome{
            SpfResultCode::kPermError, "more than one v=spf1 record at " + domain, {}, {}};
      }
      found = &text;
    }
    if (found == nullptr) return Outcome{SpfResultCode::kNone, {}, {}, {}};
    Result<SpfRecord> record = parse_spf_record(*found);
    if (!record) {
      return Outcome{SpfResultCode::kPermError,
                     "bad record at " + domain + ": " + record.error().message,
                     {},
                     {}};
    }

    for (const SpfMechanism& mechanism : record->mechanisms) {
      Match match = evaluate(mechanism, domain, depth);
      if (match.kind == MatchKind::kError) return match.error;
      if (match.kind == MatchKind::kNoMatch) continue;
      Outcome outcome{qualifier_result(mechanism.qualifier), {}, {}, mechanism.text};
      if (outcome.code == SpfResultCode::kFail && explain_fail) {
        outcome.explanation = explain(*record, domain);
      }
      return outcome;
    }

    if (record->redirect) {
      if (Match limit = count_dns_term(); limit.kind == MatchKind::kError) return limit.error;
      std::optional<std::string> target = expand_target(*record->redirect, domain);
      if (!target) {
        return Outcome{SpfResultCode::kPermError, "redirect= names no usable domain", {}, {}};
      }
      Outcome inner = check_host(*target, depth + 1, explain_fail);
      if (inner.code == SpfResultCode::kNone) {
        return Outcome{
            SpfResultCode::kPermError, "redirect=" + *target + " has no SPF record", {}, {}};
      }
      return inner;
    }
    return Outcome{SpfResultCode::kNeutral, {}, {}, {}};
  }

 private:
  Match count_dns_term() {
    if (++dns_terms_ > limits_.max_dns_terms) {
      return failed(SpfResultCode::kPermError,
                    "more than " + std::to_string(limits_.max_dns_terms) + " DNS-querying terms");
    }
    return no_match();
  }

  Match count_void() {
    if (++void_lookups_ > limits_.max_void_lookups) {
      return failed(SpfResultCode::kPermError,
                    "more than " + std::to_string(limits_.max_void_lookups) + " void lookups");
    }
    return no_match();
  }

  SpfMacroContext context(std::string_view domain) {
    SpfMacroContext context;
    context.client = client_;
    context.sender = sender_;
    context.local_part = local_part_;
    context.sender_domain = sender_domain_;
    context.domain = domain;
    context.helo = request_.helo;
    context.receiving_host = request_.receiving_host;
    context.now_seconds = request_.now_seconds;
    context.validated_name = [this, domain]() {
      return spf_pick_validated_name(ptr_names().validated, domain);
    };
    return context;
  }

  const SpfPtrNames& ptr_names() {
    if (!ptr_names_) ptr_names_ = spf_validated_names(dns_, client_, limits_.max_ptr_names);
    return *ptr_names_;
  }

  // A domain-spec expanded into a name DNS can carry (trailing dot dropped), or nothing.
  std::optional<std::string> expand_target(const std::string& spec, std::string_view domain) {
    Result<std::string> expanded =
        expand_spf_macro_string(spec, SpfMacroUse::kDomainSpec, context(domain));
    // The expansion has already dropped the one trailing dot a domain may have: another one
    // means an empty label.
    if (!expanded || expanded->empty() || expanded->back() == '.' ||
        !spf_domain_is_valid(*expanded, false)) {
      return std::nullopt;
    }
    return std::move(*expanded);
  }

  // The term's target: its domain-spec expanded, or the current domain.
  std::optional<std::string> target_of(const SpfMechanism& mechanism, std::string_view domain) {
    if (mechanism.domain_spec.empty()) return std::string(domain);
    return expand_target(mechanism.domain_spec, domain);
  }

  bool address_matches(const std::vector<std::string>& values, const SpfMechanism& mechanism) {
    int bits = client_.ipv4 ? mechanism.ip4_prefix_bits : mechanism.ip6_prefix_bits;
    for (const std::string& text : values) {
      Result<SpfAddress> address = parse_spf_answer_address(text, client_.ipv4);
      if (address && spf_address_in_network(client_, *address, bits)) return true;
    }
    return false;
  }

  Match evaluate(const SpfMechanism& mechanism, const std::string& domain, size_t depth) {
    if (spf_mechanism_queries_dns(mechanism.kind)) {
      if (Match limit = count_dns_term(); limit.kind == MatchKind::kError) return limit;
    }
    switch (mechanism.kind) {
      case SpfMechanismKind::kAll:
        return matched();
      case SpfMechanismKind::kIp4:
      case SpfMechanismKind::kIp6: {
        int bits = mechanism.kind == SpfMechanismKind::kIp4 ? mechanism.ip4_prefix_bits
                                                            : mechanism.ip6_prefix_bits;
        return spf_address_in_network(client_, mechanism.network, bits) ? matched() : no_match();
      }
      case SpfMechanismKind::kInclude:
        return evaluate_include(mechanism, domain, depth);
      case SpfMechanismKind::kA:
        return evaluate_a(mechanism, domain);
      case SpfMechanismKind::kMx:
        return evaluate_mx(mechanism, domain);
      case SpfMechanismKind::kPtr:
        return evaluate_ptr(mechanism, domain);
      case SpfMechanismKind::kExists:
        return evaluate_exists(mechanism, domain);
    }
    return no_match();
  }

  Match evaluate_include(const SpfMechanism& mechanism, const std::string& domain, size_t depth) {
    std::optional<std::string> target = target_of(mechanism, domain);
    if (!target) return failed(SpfResultCode::kPermError, mechanism.text + ": no usable domain");
    Outcome inner = check_host(*target, depth + 1, false);
    switch (inner.code) {
      case SpfResultCode::kPass:
        return matched();
      case SpfResultCode::kFail:
      case SpfResultCode::kSoftFail:
      case SpfResultCode::kNeutral:
        return no_match();
      case SpfResultCode::kTempError:
      case SpfResultCode::kPermError:
        return Match{MatchKind::kError, Outcome{inner.code, inner.problem, {}, {}}};
      case SpfResultCode::kNone:
        break;
    }
    return failed(SpfResultCode::kPermError,
                  mechanism.text + ": " + *target + " has no SPF record");
  }

  Match evaluate_a(const SpfMechanism& mechanism, const std::string& domain) {
    std::optional<std::string> target = target_of(mechanism, domain);
    if (!target) return no_match();
    DnsAnswer answer = dns_.lookup_one(*target, client_.ipv4 ? kDnsTypeA : kDnsTypeAaaa);
    if (is_dns_error(answer))
      return failed(SpfResultCode::kTempError, dns_problem(*target, answer));
    if (is_void(answer)) return count_void();
    return address_matches(answer.values, mechanism) ? matched() : no_match();
  }

  Match evaluate_mx(const SpfMechanism& mechanism, const std::string& domain) {
    std::optional<std::string> target = target_of(mechanism, domain);
    if (!target) return no_match();
    DnsAnswer mx = dns_.lookup_one(*target, kDnsTypeMx);
    if (is_dns_error(mx)) return failed(SpfResultCode::kTempError, dns_problem(*target, mx));
    if (is_void(mx)) return count_void();
    if (mx.values.size() > limits_.max_mx_names) {
      return failed(SpfResultCode::kPermError, mechanism.text + ": " + *target + " has more than " +
                                                   std::to_string(limits_.max_mx_names) +
                                                   " MX records");
    }
    std::vector<DnsQuestion> questions;
    uint16_t type = client_.ipv4 ? kDnsTypeA : kDnsTypeAaaa;
    for (const std::string& value : mx.values) {
      std::string host = ascii_lowercase(spf_without_trailing_dot(value));
      // "" is a null MX (RFC 7505): no host to ask about.
      if (host.empty() || !spf_domain_is_valid(host, false)) continue;
      bool asked = false;
      for (const DnsQuestion& question : questions) asked = asked || question.name == host;
      if (!asked) questions.push_back(DnsQuestion{host, type});
    }
    if (questions.empty()) return no_match();
    std::vector<DnsAnswer> answers = dns_.lookup(questions);
    const DnsAnswer* error = nullptr;
    for (size_t i = 0; i < answers.size() && i < questions.size(); ++i) {
      if (is_dns_error(answers[i])) {
        if (error == nullptr) error = &answers[i];
        continue;
      }
      if (answers[i].status == DnsLookupStatus::kOk &&
          address_matches(answers[i].values, mechanism)) {
        return matched();
      }
    }
    if (error != nullptr) return failed(SpfResultCode::kTempError, dns_problem(*target, *error));
    return no_match();
  }

  Match evaluate_ptr(const SpfMechanism& mechanism, const std::string& domain) {
    std::optional<std::string> target = target_of(mechanism, domain);
    if (!target) return no_match();
    const SpfPtrNames& names = ptr_names();
    // RFC 7208 5.5: a DNS error on the PTR question is no match, not a temperror.
    if (names.ptr_status == DnsLookupStatus::kNxDomain ||
        (names.ptr_status == DnsLookupStatus::kOk && names.ptr_answers == 0)) {
      return count_void();
    }
    for (const std::string& name : names.validated) {
      if (spf_domain_within(name, *target)) return matched();
    }
    return no_match();
  }

  Match evaluate_exists(const SpfMechanism& mechanism, const std::string& domain) {
    std::optional<std::string> target = target_of(mechanism, domain);
    if (!target) return no_match();
    DnsAnswer answer = dns_.lookup_one(*target, kDnsTypeA);  // A even for an IPv6 client
    if (is_dns_error(answer))
      return failed(SpfResultCode::kTempError, dns_problem(*target, answer));
    if (is_void(answer)) return count_void();
    return matched();
  }

  // The explanation of a fail decided by this record (RFC 7208 6.2): exp='s TXT record when it
  // yields one, else the request's default. Problems with exp= only mean no exp=.
  std::string explain(const SpfRecord& record, std::string_view domain) {
    if (record.explanation) {
      std::optional<std::string> target = expand_target(*record.explanation, domain);
      if (target) {
        DnsAnswer answer = dns_.lookup_one(*target, kDnsTypeTxt);
        if (answer.status == DnsLookupStatus::kOk && answer.values.size() == 1 &&
            is_printable_ascii(answer.values.front())) {
          Result<std::string> text = expand_spf_macro_string(
              answer.values.front(), SpfMacroUse::kExplanation, context(domain));
          if (text) return std::move(*text);
        }
      }
    }
    Result<std::string> text = expand_spf_macro_string(request_.default_explanation,
                                                       SpfMacroUse::kExplanation, context(domain));
    return text ? std::move(*text) : std::string();
  }

  DnsLookup& dns_;
  const SpfLimits& limits_;
  const SpfRequest& request_;
  SpfAddress client_;
  std::string local_part_;
  std::string sender_domain_;
  std::string sender_;
  size_t dns_terms_ = 0;
  size_t void_lookups_ = 0;
  std::optional<SpfPtrNames> ptr_names_;
};

// The problem text names hostile names (a macro expansion of the sender, a DNS answer): it is
// cut to kMaxSpfProblemBytes and made printable before it leaves, as it may be logged.
std::string printable_problem(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxSpfProblemBytes)) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte > 0x7e) ? '?' : c;
  }
  return out;
}

SpfResult evaluate_identity(DnsLookup& dns, const SpfRequest& request, const SpfLimits& limits,
                            SpfIdentity identity, std::string local_part, std::string domain) {
  SpfResult result;
  result.identity = identity;
  result.domain = std::string(spf_without_trailing_dot(domain));
  if (request.mail_from.size() > kMaxSpfIdentityBytes ||
      request.helo.size() > kMaxSpfIdentityBytes) {
    result.problem = "sender or HELO longer than " + std::to_string(kMaxSpfIdentityBytes);
    return result;
  }
  Result<SpfAddress> client = parse_spf_client_address(request.client_address);
  if (!client) {
    result.problem =
        printable_problem("client address \"" + request.client_address + "\" is not an IP address");
    return result;
  }
  // RFC 7208 4.3: a malformed or single-label domain gives none without a lookup.
  if (!spf_domain_is_valid(domain, true)) {
    result.problem = "no usable domain to check";
    return result;
  }
  if (local_part.empty()) local_part = "postmaster";
  Evaluation evaluation(dns, limits, request, *client, std::move(local_part), result.domain);
  Outcome outcome = evaluation.check_host(result.domain, 0, true);
  result.code = outcome.code;
  result.problem = printable_problem(outcome.problem);
  result.mechanism = std::move(outcome.mechanism);
  if (result.code == SpfResultCode::kFail) result.explanation = std::move(outcome.explanation);
  return result;
}

}  // namespace

std::string_view spf_result_name(SpfResultCode code) {
  switch (code) {
    case SpfResultCode::kNone:
      return "none";
    case SpfResultCode::kNeutral:
      return "neutral";
    case SpfResultCode::kPass:
      return "pass";
    case SpfResultCode::kFail:
      return "fail";
    case SpfResultCode::kSoftFail:
      return "softfail";
    case SpfResultCode::kTempError:
      return "temperror";
    case SpfResultCode::kPermError:
      return "permerror";
  }
  return "none";
}

SpfResult check_spf(DnsLookup& dns, const SpfRequest& request, const SpfLimits& limits) {
  if (request.mail_from.empty()) return check_spf_helo(dns, request, limits);
  size_t at = request.mail_from.rfind('@');
  if (at == std::string::npos) {
    return evaluate_identity(dns, request, limits, SpfIdentity::kMailFrom, "postmaster",
                             request.mail_from);
  }
  return evaluate_identity(dns, request, limits, SpfIdentity::kMailFrom,
                           request.mail_from.substr(0, at), request.mail_from.substr(at + 1));
}

SpfResult check_spf_helo(DnsLookup& dns, const SpfRequest& request, const SpfLimits& limits) {
  return evaluate_identity(dns, request, limits, SpfIdentity::kHelo, "postmaster", request.helo);
}

}  // namespace postern::spf
