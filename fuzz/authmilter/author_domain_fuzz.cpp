// libFuzzer target for authmilter's reading of From: (authmilter/author_domain): a stranger
// writes every byte of it. The input is one From: value (or, after a NUL, a second From: field).
// Any answer is fine; a crash, a sanitizer report, or a broken promise is not: the lenient
// reader gives at most kMaxFromAddresses addresses, each with an '@' and a non-empty domain; an
// author domain is lower-case and has no '@'; no domain always comes with a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/author_domain.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> addresses = postern::authmilter::lenient_from_addresses(input);
  if (addresses.size() > postern::authmilter::kMaxFromAddresses) std::abort();
  for (const std::string& address : addresses) {
    size_t at = address.rfind('@');
    if (at == std::string::npos || at + 1 == address.size()) std::abort();
  }
  std::vector<postern::authmilter::HeaderField> headers;
  size_t nul = input.find('\0');
  headers.push_back({"From", std::string(input.substr(0, nul))});
  if (nul != std::string_view::npos) headers.push_back({"From", std::string(input.substr(nul + 1))});
  std::string why;
  std::string domain = postern::authmilter::author_domain(headers, why);
  if (domain.empty() == why.empty()) std::abort();
  for (char c : domain) {
    if (c == '@' || (c >= 'A' && c <= 'Z')) std::abort();
  }
  return 0;
}
