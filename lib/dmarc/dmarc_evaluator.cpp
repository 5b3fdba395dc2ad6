// DMARC evaluation: see dmarc_evaluator.hpp for the steps and the RFC sections they follow.
// All DNS questions are asked in one batch: the From: domain's _dmarc record and, when the From:
// domain is not its own organizational domain, the organizational domain's _dmarc record and
// the From: domain's A, AAAA and MX (for np=, RFC 9091).
#include "lib/dmarc/dmarc_evaluator.hpp"

#include <algorithm>
#include <utility>

#include "lib/authres/authres_writer.hpp"
#include "lib/base/ascii.hpp"
#include "lib/dmarc/organizational_domain.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {
namespace {

constexpr std::string_view kDmarcPrefix = "_dmarc.";

// What one _dmarc TXT answer holds.
struct PolicyLookup {
  enum Kind { kNoRecord, kFound, kSeveral, kTempError } kind = kNoRecord;
  DmarcRecordParse parse;
  std::string reason;
};

PolicyLookup read_policy_answer(const DnsAnswer& answer, std::string_view name) {
  PolicyLookup out;
  if (answer.status == DnsLookupStatus::kNxDomain) return out;
  if (answer.status != DnsLookupStatus::kOk) {
    out.kind = PolicyLookup::kTempError;
    out.reason = "DNS " + std::string(name) + ": " +
                 (answer.reason.empty() ? std::string("lookup failed") : answer.reason);
    return out;
  }
  size_t found = 0;
  for (const std::string& text : answer.values) {
    DmarcRecordParse parse = parse_dmarc_record(text);
    if (parse.error == DmarcRecordError::kNotDmarc || parse.error == DmarcRecordError::kEmpty) {
      continue;  // not a DMARC record (RFC 7489 6.6.3 step 3)
    }
    if (++found == 1) out.parse = std::move(parse);
  }
  if (found == 1) out.kind = PolicyLookup::kFound;
  if (found > 1) {
    out.kind = PolicyLookup::kSeveral;
    out.reason = "several DMARC records at " + std::string(name);
  }
  return out;
}

bool passed(DmarcAuthResult result) {
  return result == DmarcAuthResult::kPass;
}

DmarcPolicy milder(DmarcPolicy policy) {
  return policy == DmarcPolicy::kReject ? DmarcPolicy::kQuarantine : DmarcPolicy::kNone;
}

}  // namespace

bool dmarc_domains_aligned(std::string_view from_domain, std::string_view auth_domain,
                           DmarcAlignmentMode mode) {
  Result<std::string> from = normalize_dmarc_domain(from_domain);
  Result<std::string> auth = normalize_dmarc_domain(auth_domain);
  if (!from || !auth) return false;
  if (*from == *auth) return true;
  if (mode == DmarcAlignmentMode::kStrict) return false;
  Result<std::string> from_org = organizational_domain(*from);
  Result<std::string> auth_org = organizational_domain(*auth);
  return from_org && auth_org && *from_org == *auth_org;
}

std::string_view dmarc_outcome_name(DmarcOutcome outcome) {
  switch (outcome) {
    case DmarcOutcome::kNone:
      return "none";
    case DmarcOutcome::kPass:
      return "pass";
    case DmarcOutcome::kFail:
      return "fail";
    case DmarcOutcome::kTempError:
      return "temperror";
    case DmarcOutcome::kPermError:
      return "permerror";
  }
  return "none";
}

DmarcResult evaluate_dmarc(DnsLookup& dns, const DmarcRequest& request) {
  DmarcResult result;
  Result<std::string> from = normalize_dmarc_domain(request.from_domain);
  if (!from) {
    result.from_domain = request.from_domain;
    result.outcome = DmarcOutcome::kPermError;
    result.reason = "malformed From: domain";
    return result;
  }
  result.from_domain = *from;
  Result<std::string> organizational = organizational_domain(*from);
  if (!organizational) {
    result.outcome = DmarcOutcome::kTempError;
    result.reason = organizational.error().message;
    return result;
  }
  bool is_subdomain = *organizational != *from;

  // One batch. A _dmarc name past the DNS length limit cannot exist: it is not asked.
  std::string from_policy_name = std::string(kDmarcPrefix) + *from;
  std::string org_policy_name = std::string(kDmarcPrefix) + *organizational;
  bool ask_from = check_dns_name(from_policy_name).ok();
  std::vector<DnsQuestion> questions;
  if (ask_from) questions.push_back({from_policy_name, kDnsTypeTxt});
  if (is_subdomain) {
    questions.push_back({org_policy_name, kDnsTypeTxt});
    questions.push_back({*from, kDnsTypeA});
    questions.push_back({*from, kDnsTypeAaaa});
    questions.push_back({*from, kDnsTypeMx});
  }
  std::vector<DnsAnswer> answers;
  if (!questions.empty()) answers = dns.lookup(questions);
  if (answers.size() != questions.size()) {
    result.outcome = DmarcOutcome::kTempError;
    result.reason = "DNS: incomplete answers";
    return result;
  }
  size_t next = 0;
  PolicyLookup from_policy;
  if (ask_from) from_policy = read_policy_answer(answers[next++], from_policy_name);
  PolicyLookup org_policy;
  bool from_exists = true;
  if (is_subdomain) {
    org_policy = read_policy_answer(answers[next++], org_policy_name);
    from_exists = false;
    for (int i = 0; i < 3; ++i) {
      if (answers[next++].status != DnsLookupStatus::kNxDomain) from_exists = true;
    }
  }

  // RFC 7489 6.6.3: the From: domain's own record, else the organizational domain's.
  PolicyLookup* used = &from_policy;
  result.policy_domain = *from;
  if (from_policy.kind == PolicyLookup::kNoRecord && is_subdomain) {
    used = &org_policy;
    result.policy_domain = *organizational;
  }
  if (used->kind != PolicyLookup::kFound) {
    result.policy_domain.clear();
    result.outcome =
        used->kind == PolicyLookup::kTempError ? DmarcOutcome::kTempError : DmarcOutcome::kNone;
    result.reason = used->kind == PolicyLookup::kNoRecord ? "no DMARC record" : used->reason;
    return result;
  }
  DmarcRecordParse& parse = used->parse;
  if (parse.error == DmarcRecordError::kNoValidPolicy) {
    if (parse.record.rua.empty()) {
      // 6.6.3 step 6: no valid policy and no valid rua=: no DMARC processing.
      result.outcome = DmarcOutcome::kNone;
      result.reason = "DMARC record without a valid policy: " + parse.detail;
      result.policy_domain.clear();
      return result;
    }
    // ... with a valid rua=: as if the record were "v=DMARC1; p=none".
    DmarcRecord none_record;
    none_record.rua = std::move(parse.record.rua);
    parse.record = std::move(none_record);
  } else if (!parse.ok()) {
    result.outcome = DmarcOutcome::kPermError;
    result.reason = "DMARC record at " + result.policy_domain + ": " + parse.detail;
    return result;
  }
  result.record = parse.record;
  const DmarcRecord& record = result.record;

  // Identifier alignment (RFC 7489 3.1): an SPF or DKIM pass for an aligned domain.
  result.spf_aligned = passed(request.spf.result) &&
                       dmarc_domains_aligned(*from, request.spf.domain, record.spf_alignment);
  for (const DmarcDkimInput& dkim : request.dkim) {
    if (passed(dkim.result) && dmarc_domains_aligned(*from, dkim.domain, record.dkim_alignment)) {
      result.dkim_aligned = true;
      break;
    }
  }
  result.outcome =
      result.spf_aligned || result.dkim_aligned ? DmarcOutcome::kPass : DmarcOutcome::kFail;

  // The policy that applies.
  result.policy = record.policy;
  result.policy_source = DmarcPolicySource::kP;
  if (used == &org_policy) {
    if (!from_exists && record.nonexistent_policy) {
      result.policy = *record.nonexistent_policy;
      result.policy_source = DmarcPolicySource::kNp;
    } else if (record.subdomain_policy) {
      result.policy = *record.subdomain_policy;
      result.policy_source = DmarcPolicySource::kSp;
    }
  }

  // pct= sampling (RFC 7489 6.6.4) and the disposition.
  int random_percent = std::clamp(request.random_percent, 0, 99);
  result.sampled = random_percent < record.percent;
  if (result.outcome == DmarcOutcome::kFail) {
    result.disposition = result.sampled ? result.policy : milder(result.policy);
  }
  return result;
}

std::string dmarc_resinfo(const DmarcResult& result) {
  AuthResultsInfo info;
  info.method = "dmarc";
  info.result = std::string(dmarc_outcome_name(result.outcome));
  bool has_policy = result.outcome == DmarcOutcome::kPass || result.outcome == DmarcOutcome::kFail;
  if (has_policy) {
    info.comment = "p=" + std::string(dmarc_policy_name(result.record.policy));
    if (result.policy_source == DmarcPolicySource::kSp) {
      info.comment += " sp=" + std::string(dmarc_policy_name(result.policy));
    } else if (result.policy_source == DmarcPolicySource::kNp) {
      info.comment += " np=" + std::string(dmarc_policy_name(result.policy));
    }
    info.comment += " dis=" + ascii_uppercase(dmarc_policy_name(result.disposition));
  } else if (result.outcome != DmarcOutcome::kNone) {
    info.reason = result.reason;
  }
  if (!result.from_domain.empty()) {
    info.properties.push_back({"header", "from", result.from_domain});
  }
  return format_authres_resinfo(info);
}

}  // namespace postern
