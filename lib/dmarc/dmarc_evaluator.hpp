// DMARC evaluation (RFC 7489 6.6, np= from RFC 9091) for one message: finds the policy of its
// RFC5322.From domain in DNS, checks whether a passing SPF or DKIM identity aligns with that
// domain, and says what the policy asks for. Run by postern-authmilter at end of message, after
// SPF and DKIM. The From: domain, the SPF and DKIM domains and every DNS answer are hostile:
// domains are checked by normalize_dmarc_domain, records are bounded by parse_dmarc_record, and
// the DNS work is one batch of at most five questions.
//
// Policy discovery (RFC 7489 6.6.3): TXT _dmarc.<From domain>; when that has no DMARC record,
// TXT _dmarc.<organizational domain>. TXT records that do not start with v=DMARC1 are dropped;
// more than one DMARC record at a name means no policy (result none). A DNS failure of either
// query is temperror. A record whose p= (or sp=/np=) is invalid acts as p=none when it has a
// valid rua=, and gives none otherwise (6.6.3 step 6); any other bad tag value is a permerror.
//
// The policy that applies: p= when the record is the From: domain's own; for a subdomain whose
// policy comes from its organizational domain, np= when the From: domain does not exist
// (NXDOMAIN for its A, AAAA and MX, RFC 9091 4), else sp=, else p=.
//
// Disposition: none for pass, none/temperror/permerror; for fail, the policy when the message is
// sampled (random_percent < pct), else one step milder (reject -> quarantine, quarantine ->
// none, RFC 7489 6.6.4).
#pragma once

#include <string>
#include <vector>

#include "lib/dmarc/dmarc_record.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern {

// An SPF or DKIM result as DMARC needs it: only kPass counts (RFC 7489 4.2).
enum class DmarcAuthResult {
  kNone,
  kPass,
  kFail,
  kSoftFail,
  kNeutral,
  kPolicy,
  kTempError,
  kPermError
};

struct DmarcSpfInput {
  DmarcAuthResult result = DmarcAuthResult::kNone;
  std::string domain;  // the domain SPF checked: the MAIL FROM domain (HELO's for MAIL FROM:<>)
};

struct DmarcDkimInput {
  DmarcAuthResult result = DmarcAuthResult::kNone;
  std::string domain;  // the signature's d=
};

struct DmarcRequest {
  std::string from_domain;  // the RFC5322.From domain: one (the caller rejects several)
  DmarcSpfInput spf;
  std::vector<DmarcDkimInput> dkim;  // one per signature
  // Uniform in [0, 100): the pct= sample, injected so tests choose it; clamped to that range.
  int random_percent = 0;
};

enum class DmarcOutcome { kNone, kPass, kFail, kTempError, kPermError };

// Where the policy that applied came from.
enum class DmarcPolicySource { kNone, kP, kSp, kNp };

struct DmarcResult {
  DmarcOutcome outcome = DmarcOutcome::kNone;
  std::string from_domain;                  // normalized; header.from
  std::string policy_domain;                // where the record was found; "" without one
  DmarcRecord record;                       // the record used (defaults without one)
  DmarcPolicy policy = DmarcPolicy::kNone;  // the policy that applies (p, sp or np)
  DmarcPolicySource policy_source = DmarcPolicySource::kNone;
  DmarcPolicy disposition = DmarcPolicy::kNone;  // what to do with the message
  bool sampled = true;                           // random_percent < pct
  bool spf_aligned = false;                      // SPF passed for an aligned domain
  bool dkim_aligned = false;                     // some DKIM signature passed for an aligned domain
  std::string reason;                            // why, for none/temperror/permerror
};

// Whether an authenticated domain aligns with the From: domain: strict = the same name,
// relaxed = the same organizational domain. Names are compared case-insensitively, one trailing
// dot ignored; a malformed name aligns with nothing.
bool dmarc_domains_aligned(std::string_view from_domain, std::string_view auth_domain,
                           DmarcAlignmentMode mode);

DmarcResult evaluate_dmarc(DnsLookup& dns, const DmarcRequest& request);

// "pass", "fail", "none", "temperror", "permerror" (RFC 8601 2.7.7).
std::string_view dmarc_outcome_name(DmarcOutcome outcome);

// The Authentication-Results resinfo for a result. What we chose, following RFC 8601 and the
// OpenDMARC/RFC column of the project's notes on how real verifiers write results:
//   dmarc=fail (p=reject dis=REJECT) header.from=example.org
//   dmarc=pass (p=none sp=quarantine dis=NONE) header.from=sub.example.org
//   dmarc=temperror reason="DNS: timeout" header.from=example.org
// header.from is always the From: domain, never the policy domain (RFC 7489 11.2; rspamd
// writes the policy domain), and it is written for none too (rspamd omits it). The comment
// carries the record's p=, the sp= or np= that applied (when one did) and the disposition in
// capitals, as OpenDMARC and the large receivers do, so a reader sees why the message was
// treated so; it is a comment because RFC 8601 defines no property for it. Without a record
// there is no comment. A domain that is not a token is quoted (lib/authres).
std::string dmarc_resinfo(const DmarcResult& result);

}  // namespace postern
