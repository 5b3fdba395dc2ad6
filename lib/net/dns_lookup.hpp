// The DNS questions SPF, DKIM and DMARC ask, and the answers they get back, seen from the
// evaluating code: a synchronous call per batch of questions. The real implementation (lib/net
// dns_lookup_session, on the asynchronous client relay uses) sends every question of a batch at
// once and waits on its own event loop with the resolver's timeouts, consulting the process's
// lib/net/dns_cache first; reused for all of one message's lookups it is also that message's
// memo. Tests implement it over the zone data their suites ship. Answers are hostile data: the
// values are bounded by the parser (lib/net/dns_message) and the evaluators bound what they do with
// them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

struct DnsQuestion {
  std::string name;   // a domain name, no trailing dot needed
  uint16_t type = 0;  // kDnsTypeA, kDnsTypeAaaa, kDnsTypeMx, kDnsTypeTxt, kDnsTypePtr
};

enum class DnsLookupStatus {
  kOk,         // the name exists; values may be empty (NODATA)
  kNxDomain,   // the name does not exist (RCODE 3)
  kTemporary,  // timeout, SERVFAIL, a socket error: try again later (SPF temperror)
  kMalformed,  // the answer could not be used (bad name asked, unparseable reply)
};

struct DnsAnswer {
  DnsLookupStatus status = DnsLookupStatus::kTemporary;
  // The records of the asked type at the end of any CNAME chain, in the order received:
  // A/AAAA: the address in text form; MX: the exchange host (lower-cased, no trailing dot; ""
  // for the root, a null MX); PTR: the host name (lower-cased, no trailing dot); TXT: the record's
  // character-strings joined without a separator (RFC 7208 3.3, RFC 6376 3.6.2.2).
  std::vector<std::string> values;
  // MX only: the preference of values[i].
  std::vector<uint16_t> preferences;
  // The smallest TTL of the records used, CNAMEs included (0 for a failure and for NODATA; an
  // answer from the cache: what is left of it).
  uint32_t ttl_seconds = 0;
  std::string reason;  // why, when status is not kOk ("timeout", "SERVFAIL")
};

class DnsLookup {
 public:
  virtual ~DnsLookup() = default;
  // Answers every question, in the same order. Never throws; a question that cannot be asked
  // gets kMalformed.
  virtual std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) = 0;

  DnsAnswer lookup_one(std::string_view name, uint16_t type) {
    DnsQuestion question{std::string(name), type};
    auto answers = lookup(std::span<const DnsQuestion>(&question, 1));
    return answers.empty() ? DnsAnswer{} : std::move(answers.front());
  }
};

}  // namespace postern
