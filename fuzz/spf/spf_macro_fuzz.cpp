// libFuzzer target for lib/spf/spf_macro.cpp (check_spf_macro_string, expand_spf_macro_string):
// postern-authmilter expands the domain-specs of SPF records and the explanation texts that
// exp= fetches, both hostile DNS text, with the client's hostile sender and HELO as values.
// Input: the first byte picks the use (bit 0: explanation) and whether the p macro asks DNS
// (bit 1); the rest up to the first '\n' is the macro-string, and what follows is the sender's
// local part. The context is otherwise fixed; the DnsLookup answers nothing (NXDOMAIN).
// Besides crashes and sanitizer reports it checks that checking and expanding agree, that a
// domain expansion is at most 253 octets and already cut (cutting again changes nothing), and an
// explanation stops at kMaxSpfExplanationBytes and is printable ASCII.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lib/net/dns_lookup.hpp"
#include "lib/spf/spf_domain.hpp"
#include "lib/spf/spf_macro.hpp"
#include "lib/spf/spf_ptr.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

class NothingLookup : public postern::DnsLookup {
 public:
  std::vector<postern::DnsAnswer> lookup(std::span<const postern::DnsQuestion> questions) override {
    std::vector<postern::DnsAnswer> answers(questions.size());
    for (postern::DnsAnswer& answer : answers) answer.status = postern::DnsLookupStatus::kNxDomain;
    return answers;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace postern::spf;
  uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t newline = rest.find('\n');
  std::string_view text = rest.substr(0, newline);
  std::string_view local_part =
      newline == std::string_view::npos ? std::string_view("strong-bad") : rest.substr(newline + 1);
  SpfMacroUse use = (flags & 1) ? SpfMacroUse::kExplanation : SpfMacroUse::kDomainSpec;

  NothingLookup dns;
  SpfMacroContext context;
  context.client = *parse_spf_client_address((flags & 4) ? "2001:db8::cb01" : "192.0.2.3");
  std::string sender = std::string(local_part) + "@email.example.com";
  context.sender = sender;
  context.local_part = local_part;
  context.sender_domain = "email.example.com";
  context.domain = "email.example.com";
  context.helo = "mail.example.org";
  context.receiving_host = "mx.example.net";
  context.now_seconds = 1700000000;
  if (flags & 2) {
    context.validated_name = [&dns, &context]() {
      SpfPtrNames names = spf_validated_names(dns, context.client);
      return spf_pick_validated_name(names.validated, context.domain);
    };
  }

  bool valid = check_spf_macro_string(text, use).ok();
  postern::Result<std::string> expanded = expand_spf_macro_string(text, use, context);
  check(valid == expanded.ok());
  if (!expanded) return 0;
  if (use == SpfMacroUse::kDomainSpec) {
    check(expanded->size() <= kMaxSpfDomainBytes);
    // The cut is done: cutting again changes nothing (a trailing dot was dropped, and the
    // remaining labels fit).
    check(spf_truncate_domain(*expanded) == *expanded || expanded->back() == '.');
  } else {
    check(expanded->size() <= kMaxSpfExplanationBytes);
    for (char c : *expanded) check(c >= 0x20 && c <= 0x7e);
  }
  return 0;
}
