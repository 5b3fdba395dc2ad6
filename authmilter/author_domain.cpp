// The From: domain (see author_domain.hpp).
#include "authmilter/author_domain.hpp"

#include "lib/base/ascii.hpp"
#include "lib/mime/message_headers.hpp"

namespace postern::authmilter {

std::string author_domain(const std::vector<HeaderField>& headers, std::string& why) {
  const HeaderField* from = nullptr;
  for (const HeaderField& field : headers) {
    if (!ascii_iequals(field.name, "From")) continue;
    if (from != nullptr) {
      why = "more than one From: field";
      return {};
    }
    from = &field;
  }
  if (from == nullptr) {
    why = "no From: field";
    return {};
  }
  Result<std::vector<std::string>> addresses = parse_address_list(from->value);
  if (!addresses || addresses->size() != 1) {
    why = "From: does not hold exactly one address";
    return {};
  }
  size_t at = addresses->front().rfind('@');
  if (at == std::string::npos || at + 1 == addresses->front().size()) {
    why = "From: address has no domain";
    return {};
  }
  return ascii_lowercase(addresses->front().substr(at + 1));
}

}  // namespace postern::authmilter
