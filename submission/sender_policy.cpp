// Sender ownership for postern-submission (see sender_policy.hpp). LMDB read transactions
// only; a lookup failure is an error the session answers with a temporary refusal.
#include "submission/sender_policy.hpp"

#include <algorithm>

#include "lib/base/ascii.hpp"

namespace postern::submission {

std::vector<std::string> parse_login_list(std::string_view value, std::string_view local_domain) {
  std::vector<std::string> logins;
  size_t start = 0;
  while (start < value.size()) {
    size_t end = value.find_first_of(", \t", start);
    if (end == std::string_view::npos) end = value.size();
    if (end > start) {
      std::string login = ascii_lowercase(value.substr(start, end - start));
      if (login.find('@') == std::string::npos && !local_domain.empty()) {
        login += "@" + ascii_lowercase(local_domain);
      }
      logins.push_back(std::move(login));
    }
    start = end + 1;
  }
  return logins;
}

SenderPolicy::SenderPolicy(const AccountsDb& accounts, const LookupTable* login_maps,
                           std::string recipient_delimiter, std::string local_domain)
    : accounts_(accounts),
      login_maps_(login_maps),
      recipient_delimiter_(std::move(recipient_delimiter)),
      local_domain_(std::move(local_domain)) {}

Result<bool> SenderPolicy::owns(std::string_view login, std::string_view address) const {
  Result<bool> by_accounts = accounts_.may_send_as(login, address, recipient_delimiter_);
  if (!by_accounts) return by_accounts.error();
  if (*by_accounts) return true;
  return owned_by_map(login, address);
}

Result<bool> SenderPolicy::owned_by_map(std::string_view login, std::string_view address) const {
  if (login_maps_ == nullptr) return false;
  size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = address.substr(0, at);
  std::string domain = ascii_lowercase(address.substr(at + 1));
  std::vector<std::string> keys{std::string(local) + "@" + domain};
  if (!recipient_delimiter_.empty()) {
    size_t delimiter = local.find_first_of(recipient_delimiter_);
    if (delimiter != std::string_view::npos && delimiter > 0) {
      keys.push_back(std::string(local.substr(0, delimiter)) + "@" + domain);
    }
  }
  keys.push_back("@" + domain);
  const std::string wanted = ascii_lowercase(login);
  for (const std::string& key : keys) {
    Result<std::optional<std::string>> value = login_maps_->find(key);
    if (!value) return value.error();
    if (!value->has_value()) continue;
    std::vector<std::string> logins = parse_login_list(**value, local_domain_);
    return std::find(logins.begin(), logins.end(), wanted) != logins.end();
  }
  return false;
}

}  // namespace postern::submission
