// libFuzzer target for lib/authres/authres_parser.cpp (parse_auth_results,
// claims_authserv_id): postern-authmilter runs them on every Authentication-Results and
// ARC-Authentication-Results header of every message it checks. The first byte picks the kind
// (even: Authentication-Results, odd: ARC's, with i=N;); the rest is the header value. Besides
// crashes and sanitizer reports it checks that an accepted value respects the count and item
// limits, and that a value of printable ASCII written back by AuthResultsBuilder parses to the
// same results (the writer and the parser agree on quoting).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/authres/authres_parser.hpp"
#include "lib/authres/authres_writer.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool printable(const std::string& text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool all_printable(const postern::AuthResults& parsed) {
  if (!printable(parsed.authserv_id)) return false;
  for (const postern::AuthResultsInfo& info : parsed.results) {
    if (!printable(info.reason)) return false;
    for (const postern::AuthResultsProperty& property : info.properties) {
      if (!printable(property.value)) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto kind = (data[0] & 1) ? postern::AuthResultsKind::kArcAuthenticationResults
                            : postern::AuthResultsKind::kAuthenticationResults;
  std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)postern::claims_authserv_id(value, "mx.example.org");
  postern::Result<postern::AuthResults> parsed = postern::parse_auth_results(value, kind);
  if (!parsed) return 0;
  check(value.size() <= postern::kMaxAuthResValueBytes);
  check(!parsed->authserv_id.empty());
  check(parsed->authserv_id.size() <= postern::kMaxAuthResItemBytes);
  check(parsed->results.size() <= postern::kMaxAuthResInfos);
  if (kind == postern::AuthResultsKind::kArcAuthenticationResults) {
    check(parsed->arc_instance >= 1 && parsed->arc_instance <= postern::kMaxArcInstance);
  }
  for (const postern::AuthResultsInfo& info : parsed->results) {
    check(!info.method.empty() && !info.result.empty());
    check(info.properties.size() <= postern::kMaxAuthResProperties);
    for (const postern::AuthResultsProperty& property : info.properties) {
      check(property.value.size() <= postern::kMaxAuthResItemBytes);
    }
  }
  if (kind == postern::AuthResultsKind::kAuthenticationResults) {
    check(postern::claims_authserv_id(value, parsed->authserv_id));
  }
  if (!all_printable(*parsed)) return 0;
  postern::AuthResultsBuilder builder(parsed->authserv_id);
  for (const postern::AuthResultsInfo& info : parsed->results) builder.add(info);
  std::string written = builder.value();
  if (written.size() > postern::kMaxAuthResValueBytes) return 0;
  postern::Result<postern::AuthResults> again = postern::parse_auth_results(written);
  check(again.ok());
  check(again->authserv_id == parsed->authserv_id);
  check(again->results.size() == parsed->results.size());
  for (size_t i = 0; i < parsed->results.size(); ++i) {
    const postern::AuthResultsInfo& a = parsed->results[i];
    const postern::AuthResultsInfo& b = again->results[i];
    check(a.method == b.method && a.method_version == b.method_version && a.result == b.result);
    check(a.reason == b.reason && a.properties.size() == b.properties.size());
    for (size_t j = 0; j < a.properties.size(); ++j) {
      check(a.properties[j].ptype == b.properties[j].ptype);
      check(a.properties[j].property == b.properties[j].property);
      check(a.properties[j].value == b.properties[j].value);
    }
  }
  return 0;
}
