// libFuzzer target for lib/spf/spf_record.cpp (parse_spf_record) and, through it, the
// evaluator of lib/spf/spf_evaluator.cpp: postern-authmilter parses every v=spf1 TXT record
// DNS returns, hostile text. Input: one record. It is parsed; a parsed record is checked against
// the parser's limits and forms (terms, CIDR widths, domain-specs that check as macro-strings,
// each term's text found in the input). Then check_spf() runs over a DnsLookup that answers
// every TXT question with the input itself (so include and redirect recurse into it), every
// A/AAAA question with an address, MX with two hosts and PTR with one name: the evaluation must
// end within the limits with a result, and a permerror or temperror must say why.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lib/net/dns_lookup.hpp"
#include "lib/net/dns_message.hpp"
#include "lib/spf/spf_evaluator.hpp"
#include "lib/spf/spf_macro.hpp"
#include "lib/spf/spf_record.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

class RecordLookup : public postern::DnsLookup {
 public:
  explicit RecordLookup(std::string record) : record_(std::move(record)) {}

  std::vector<postern::DnsAnswer> lookup(std::span<const postern::DnsQuestion> questions) override {
    std::vector<postern::DnsAnswer> answers;
    for (const postern::DnsQuestion& question : questions) {
      ++questions_;
      postern::DnsAnswer answer;
      answer.status = postern::DnsLookupStatus::kOk;
      switch (question.type) {
        case postern::kDnsTypeTxt:
          answer.values = {record_};
          break;
        case postern::kDnsTypeA:
          answer.values = {"192.0.2.1"};
          break;
        case postern::kDnsTypeAaaa:
          answer.values = {"2001:db8::1"};
          break;
        case postern::kDnsTypeMx:
          answer.values = {"mx1.example.com", "mx2.example.com"};
          answer.preferences = {10, 20};
          break;
        case postern::kDnsTypePtr:
          answer.values = {"host.example.com"};
          break;
        default:
          answer.status = postern::DnsLookupStatus::kMalformed;
      }
      answers.push_back(std::move(answer));
    }
    return answers;
  }

  size_t questions() const { return questions_; }

 private:
  std::string record_;
  size_t questions_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern::spf;
  std::string record(reinterpret_cast<const char*>(data), size);
  postern::Result<SpfRecord> parsed = parse_spf_record(record);
  if (parsed) {
    check(is_spf_record(record));
    check(parsed->mechanisms.size() <= kMaxSpfTerms);
    for (const SpfMechanism& mechanism : parsed->mechanisms) {
      check(!mechanism.text.empty() && record.find(mechanism.text) != std::string::npos);
      check(mechanism.ip4_prefix_bits >= 0 && mechanism.ip4_prefix_bits <= kSpfIpv4Bits);
      check(mechanism.ip6_prefix_bits >= 0 && mechanism.ip6_prefix_bits <= kSpfIpv6Bits);
      if (!mechanism.domain_spec.empty()) {
        check(check_spf_macro_string(mechanism.domain_spec, SpfMacroUse::kDomainSpec).ok());
      }
    }
    for (const auto* modifier : {&parsed->redirect, &parsed->explanation}) {
      if (*modifier) {
        check(check_spf_macro_string(**modifier, SpfMacroUse::kDomainSpec).ok());
      }
    }
  }
  if (!is_spf_record(record)) return 0;

  RecordLookup dns(record);
  SpfRequest request;
  request.client_address = (size % 2) ? "192.0.2.1" : "2001:db8::1";
  request.mail_from = "user@example.com";
  request.helo = "mail.example.org";
  request.receiving_host = "mx.example.net";
  request.now_seconds = 1700000000;
  request.default_explanation = "%{i} is not allowed for %{d}";
  SpfResult result = check_spf(dns, request);
  if (result.code == SpfResultCode::kPermError || result.code == SpfResultCode::kTempError) {
    check(!result.problem.empty());
  }
  if (!parsed) check(result.code == SpfResultCode::kPermError);
  // Each DNS term asks at most 1 + 10 questions, the TXT lookups and exp= a few more.
  check(dns.questions() <= (kMaxSpfDnsTerms + 1) * (2 + kMaxSpfMxNames) + 2);
  return 0;
}
