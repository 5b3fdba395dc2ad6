// The client's validated host names (RFC 7208 5.5), which the ptr mechanism and the p macro
// use: the PTR names of the client address, the first kMaxSpfPtrNames of them (by default),
// each kept only when its own A (IPv4 client) or AAAA (IPv6 client) answer holds the client
// address. One PTR question, then one batch for every name's addresses. Used by lib/spf's
// evaluator in postern-authmilter. PTR and address answers are hostile DNS data: names past
// the limit are ignored, an address that does not parse is skipped, and a DNS error on a name
// only drops that name (5.5: the search goes on).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/net/dns_lookup.hpp"
#include "lib/spf/spf_address.hpp"

namespace postern::spf {

inline constexpr size_t kMaxSpfPtrNames = 10;  // RFC 7208 4.6.4

struct SpfPtrNames {
  DnsLookupStatus ptr_status = DnsLookupStatus::kTemporary;  // of the PTR question
  size_t ptr_answers = 0;              // PTR names DNS returned (0 with kOk: NODATA)
  std::vector<std::string> validated;  // in DNS order, lower-case, no trailing dot
};

SpfPtrNames spf_validated_names(DnsLookup& dns, const SpfAddress& client,
                                size_t max_names = kMaxSpfPtrNames);

// The p macro's choice: a validated name that is domain or a subdomain of it, else the first
// validated name, else "" (the macro then says "unknown").
std::string spf_pick_validated_name(const std::vector<std::string>& names, std::string_view domain);

}  // namespace postern::spf
