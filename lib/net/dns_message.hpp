// DNS messages (RFC 1035 4.1), just what relay's MX lookup needs: build a one-question query
// and parse a response's header, question and answer section (MX, A, AAAA, CNAME records).
// Used by relay through lib/net/mx_resolver. A response comes from the network and is hostile:
// names are bounded (label 63, name 255 bytes, RFC 1035 2.3.4), compression pointers must
// point strictly backwards and are followed at most kMaxDnsPointerJumps times (no loops), the
// section counts are bounded (kMaxDnsAnswers) and every read is checked against the message end.
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

enum DnsRcode : int { kDnsNoError = 0, kDnsFormErr = 1, kDnsServFail = 2, kDnsNxDomain = 3 };

struct DnsRecord {
  std::string name;  // owner, lower-cased, no trailing dot ("" is the root)
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  // Decoded data for the types we use; other types keep only the header fields.
  uint16_t preference = 0;  // MX
  std::string target;       // MX exchange, CNAME target (lower-cased, no trailing dot)
  std::string address;      // A, AAAA: text form ("192.0.2.1", "2001:db8::1")
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
