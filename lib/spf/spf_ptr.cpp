// Validated PTR names for SPF's ptr mechanism and p macro (RFC 7208 5.5): one PTR question,
// then the first names' addresses in one batch. DNS answers are hostile; bounded by max_names.
#include "lib/spf/spf_ptr.hpp"

#include "lib/base/ascii.hpp"
#include "lib/net/dns_message.hpp"
#include "lib/spf/spf_domain.hpp"

namespace postern::spf {

SpfPtrNames spf_validated_names(DnsLookup& dns, const SpfAddress& client, size_t max_names) {
  SpfPtrNames out;
  DnsAnswer ptr = dns.lookup_one(spf_reverse_name(client), kDnsTypePtr);
  out.ptr_status = ptr.status;
  if (ptr.status != DnsLookupStatus::kOk) return out;
  out.ptr_answers = ptr.values.size();
  size_t names = 0;
  std::vector<DnsQuestion> questions;
  uint16_t type = client.ipv4 ? kDnsTypeA : kDnsTypeAaaa;
  for (const std::string& value : ptr.values) {
    if (names++ >= max_names) break;
    std::string name = ascii_lowercase(spf_without_trailing_dot(value));
    // A name DNS cannot carry is still one of the first max_names, but is not asked.
    if (spf_domain_is_valid(name, false)) questions.push_back(DnsQuestion{std::move(name), type});
  }
  if (questions.empty()) return out;
  std::vector<DnsAnswer> answers = dns.lookup(questions);
  for (size_t i = 0; i < questions.size() && i < answers.size(); ++i) {
    if (answers[i].status != DnsLookupStatus::kOk) continue;
    for (const std::string& text : answers[i].values) {
      Result<SpfAddress> address = parse_spf_answer_address(text, client.ipv4);
      if (address && *address == client) {
        out.validated.push_back(questions[i].name);
        break;
      }
    }
  }
  return out;
}

std::string spf_pick_validated_name(const std::vector<std::string>& names,
                                    std::string_view domain) {
  for (const std::string& name : names) {
    if (spf_domain_within(name, domain)) return name;
  }
  return names.empty() ? std::string() : names.front();
}

}  // namespace postern::spf
