// DNS messages (RFC 1035 4.1), what relay's MX lookup and the SPF, DKIM and DMARC lookups need:
// build a one-question query, parse a response's header, question and answer section (MX, A,
// AAAA, CNAME, PTR and TXT records), and pick out the records that answer the question at the
// end of the answer's CNAME chain. Used by lib/net/dns_client (for mx_resolver and
// dns_lookup_session). A response comes from the network and is hostile: names are bounded
// (label 63, name 255 bytes, RFC 1035 2.3.4), compression pointers must point strictly backwards
// and are followed at most kMaxDnsPointerJumps times (no loops), the section counts are bounded
// (kMaxDnsAnswers), a TXT record holds at most kMaxDnsTxtStrings strings, a CNAME chain at most
// kMaxDnsCnameChain links, and every read is checked against the message end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxDnsNameBytes = 255;  // wire form, root label included
inline constexpr size_t kMaxDnsLabelBytes = 63;
inline constexpr size_t kMaxDnsPointerJumps = 32;
inline constexpr size_t kMaxDnsAnswers = 256;
inline constexpr size_t kMaxDnsMessageBytes = 65535;
// Character-strings in one TXT record (each up to 255 bytes). A 4096-bit DKIM key needs 3;
// SPF records rarely more than a handful.
inline constexpr size_t kMaxDnsTxtStrings = 128;
// CNAME records followed from the question name inside one answer (RFC 1034 3.6.2 chains are
// short; resolvers stop near 8-16).
inline constexpr size_t kMaxDnsCnameChain = 16;

enum DnsType : uint16_t {
  kDnsTypeA = 1,
  kDnsTypeCname = 5,
  kDnsTypePtr = 12,
  kDnsTypeMx = 15,
  kDnsTypeTxt = 16,
  kDnsTypeAaaa = 28,
  kDnsTypeOpt = 41,
};
inline constexpr uint16_t kDnsClassIn = 1;

enum DnsRcode : int {
  kDnsNoError = 0,
  kDnsFormErr = 1,
  kDnsServFail = 2,
  kDnsNxDomain = 3,
  kDnsNotImp = 4,
  kDnsRefused = 5,
};

struct DnsRecord {
  std::string name;  // owner, lower-cased, no trailing dot ("" is the root)
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  // Decoded data for the types we use; other types keep only the header fields.
  uint16_t preference = 0;  // MX
  // MX exchange, CNAME target, PTR host name (lower-cased, no trailing dot; "" is the root, as
  // in a null MX)
  std::string target;
  std::string address;               // A, AAAA: text form ("192.0.2.1", "2001:db8::1")
  std::vector<std::string> strings;  // TXT: the character-strings, as sent (case kept)

  // TXT: the character-strings joined without a separator (RFC 7208 3.3, RFC 6376 3.6.2.2).
  std::string joined_text() const;
};

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  bool truncated = false;
  int rcode = 0;
  std::string question_name;  // lower-cased, no trailing dot
  uint16_t question_type = 0;
  std::vector<DnsRecord> answers;
};

// What a response says about its question, read the way RFC 2308 2.1/2.2 tells NXDOMAIN from
// NODATA without needing the authority section's SOA: the rcode, then whether any record of the
// asked type sits at the end of the CNAME chain that starts at the question name.
enum class DnsAnswerKind {
  kRecords,      // NOERROR with at least one record of the asked type
  kNoData,       // NOERROR, the name exists but has no record of the asked type
  kNxDomain,     // RCODE 3: the name (or the end of its CNAME chain) does not exist
  kServerError,  // any other rcode (SERVFAIL, REFUSED, FORMERR, NOTIMP...)
};

struct DnsAnswerSet {
  DnsAnswerKind kind = DnsAnswerKind::kServerError;
  std::string canonical_name;      // the end of the CNAME chain (the question name without one)
  std::vector<DnsRecord> records;  // class IN, of the asked type, owned by canonical_name
  // The smallest TTL of the records used, CNAMEs of the chain included (0 without records).
  uint32_t ttl_seconds = 0;
};

// Follows the answer's CNAME chain from the question name (at most kMaxDnsCnameChain links;
// a loop or a longer chain is an error) and keeps the records of the question's type found at
// its end, in the order received. Records for other names are ignored (a resolver's extras, or
// a forgery's).
Result<DnsAnswerSet> select_dns_answer(const DnsMessage& message);

// Checks a domain name's text form (trailing dot optional) against the label and name limits.
Status check_dns_name(std::string_view name);

// A standard query (RD set) for name/type in class IN. edns_udp_bytes > 0 adds an EDNS(0) OPT
// record (RFC 6891) offering answers of that many bytes over UDP, so that a long MX list does
// not come back truncated at 512 bytes.
Result<std::string> build_dns_query(uint16_t id, std::string_view name, uint16_t type,
                                    uint16_t edns_udp_bytes = 0);

// Parses a response: exactly one question; the answer section decoded; authority and
// additional sections are not read. Fails on anything malformed or over a limit.
Result<DnsMessage> parse_dns_message(std::string_view bytes);

}  // namespace postern
