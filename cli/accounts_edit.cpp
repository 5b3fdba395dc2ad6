// Edits of the accounts data in memory (see accounts_edit.hpp). Command-line names are checked
// here before anything else sees them; messages quote them through log::printable.
#include "cli/accounts_edit.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"

namespace postern::cli {
namespace {

Error permanent(std::string what) {
  return Error{ErrorKind::kPermanent, std::move(what), 0};
}

std::string quoted(std::string_view text) {
  return "'" + log::printable(text, 80) + "'";
}

Status require_domain(const AccountsData& data, const std::string& domain) {
  if (!data.domains.count(domain)) return Error::not_found("no domain " + domain);
  return Status::success();
}

std::string normalised_target(const std::string& target, const AccountsData& data) {
  std::string_view domain = domain_of(target);
  if (!data.domains.count(std::string(domain))) return target;
  return ascii_lowercase(target);
}

void normalise_list(std::vector<std::string>& list, const AccountsData& data) {
  std::vector<std::string> out;
  for (const std::string& item : list) {
    std::string normal = normalised_target(item, data);
    if (std::find(out.begin(), out.end(), normal) == out.end()) out.push_back(std::move(normal));
  }
  list = std::move(out);
}

template <class Map>
void erase_in_domain(Map& map, const std::string& domain) {
  for (auto it = map.begin(); it != map.end();) {
    if (domain_of(it->first) == domain) {
      it = map.erase(it);
    } else {
      ++it;
    }
  }
}

template <class Map>
size_t count_in_domain(const Map& map, const std::string& domain) {
  return static_cast<size_t>(std::count_if(
      map.begin(), map.end(), [&](const auto& entry) { return domain_of(entry.first) == domain; }));
}

}  // namespace

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

Result<std::string> parse_domain_argument(std::string_view text) {
  if (text.empty()) return Error::parse("empty domain name");
  if (text.size() > 255) return Error::parse("domain name longer than 255 bytes");
  std::string domain = ascii_lowercase(text);
  if (!is_valid_domain_name(domain)) {
    return Error::parse("invalid domain name " + quoted(text) +
                        " (letters, digits, '-' and dots; IDNs in their xn-- form)");
  }
  return domain;
}

Result<AccountAddress> parse_account_address(std::string_view text) {
  if (text.size() > kMaxAddressBytes) {
    return Error::parse(fmt::format("address longer than {} bytes", kMaxAddressBytes));
  }
  size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    return Error::parse("expected a full address (user@domain), not " + quoted(text));
  }
  std::string_view local = text.substr(0, at);
  if (!is_valid_local_part(local) || local.find('/') != std::string_view::npos) {
    return Error::parse("invalid local part " + quoted(local) +
                        " (at most 64 letters, digits, dots and !#$%&'*+-=?^_`{|}~)");
  }
  Result<std::string> domain = parse_domain_argument(text.substr(at + 1));
  if (!domain) return domain.error();
  return AccountAddress{ascii_lowercase(local), std::move(domain).value()};
}

Result<std::string> parse_alias_target(std::string_view text, const std::string& domain,
                                       const AccountsData& data) {
  if (text.size() > kMaxAddressBytes) {
    return Error::parse(fmt::format("target longer than {} bytes", kMaxAddressBytes));
  }
  size_t at = text.rfind('@');
  std::string_view local = at == std::string_view::npos ? text : text.substr(0, at);
  std::string target_domain = domain;
  if (at != std::string_view::npos) {
    Result<std::string> parsed = parse_domain_argument(text.substr(at + 1));
    if (!parsed) return parsed.error();
    target_domain = std::move(parsed).value();
  }
  if (!is_valid_local_part(local)) return Error::parse("invalid target " + quoted(text));
  return normalised_target(std::string(local) + "@" + target_domain, data);
}

void normalise_accounts(AccountsData& data) {
  for (auto& [alias, targets] : data.aliases) normalise_list(targets, data);
  for (auto& [domain, targets] : data.catch_alls) normalise_list(targets, data);
  for (auto& [user, addresses] : data.send_as) normalise_list(addresses, data);
  if (!data.postmaster.empty()) data.postmaster = normalised_target(data.postmaster, data);
}

Status add_domain(AccountsData& data, const std::string& domain) {
  if (!data.domains.insert(domain).second) return permanent("domain " + domain + " exists");
  normalise_accounts(data);
  return Status::success();
}

Status delete_domain(AccountsData& data, const std::string& domain, bool force) {
  if (Status known = require_domain(data, domain); !known) return known;
  const size_t users = count_in_domain(data.passwords, domain);
  const size_t aliases = count_in_domain(data.aliases, domain);
  const bool catch_all = data.catch_alls.count(domain) > 0;
  if (!force && (users || aliases || catch_all)) {
    return permanent(fmt::format(
        "domain {} still has {} user{}, {} alias{}{}: delete them first, or give --force", domain,
        users, users == 1 ? "" : "s", aliases, aliases == 1 ? "" : "es",
        catch_all ? " and a catch-all" : ""));
  }
  erase_in_domain(data.passwords, domain);
  erase_in_domain(data.send_as, domain);
  erase_in_domain(data.aliases, domain);
  data.catch_alls.erase(domain);
  data.domains.erase(domain);
  return Status::success();
}

Status add_user(AccountsData& data, const AccountAddress& user, std::string password_hash) {
  if (Status known = require_domain(data, user.domain); !known) return known;
  if (data.passwords.count(user.full())) return permanent("user " + user.full() + " exists");
  data.passwords[user.full()] = std::move(password_hash);
  return Status::success();
}

Status set_user_password(AccountsData& data, const AccountAddress& user,
                         std::string password_hash) {
  auto found = data.passwords.find(user.full());
  if (found == data.passwords.end()) return Error::not_found("no user " + user.full());
  found->second = std::move(password_hash);
  return Status::success();
}

Status delete_user(AccountsData& data, const AccountAddress& user) {
  if (data.passwords.erase(user.full()) == 0) return Error::not_found("no user " + user.full());
  data.send_as.erase(user.full());
  return Status::success();
}

Result<size_t> add_alias(AccountsData& data, const AccountAddress& alias,
                         const std::vector<std::string>& targets) {
  if (Status known = require_domain(data, alias.domain); !known) return known.error();
  std::vector<std::string> list;
  if (auto existing = data.aliases.find(alias.full()); existing != data.aliases.end()) {
    list = existing->second;
  }
  size_t added = 0;
  for (const std::string& text : targets) {
    Result<std::string> target = parse_alias_target(text, alias.domain, data);
    if (!target) return target.error();
    if (*target == alias.full() && !data.passwords.count(alias.full())) {
      return permanent("alias " + alias.full() + " cannot name itself without a user of that name");
    }
    if (std::find(list.begin(), list.end(), *target) != list.end()) continue;
    if (list.size() >= kMaxAliasTargets) {
      return permanent(
          fmt::format("alias {} would have more than {} targets", alias.full(), kMaxAliasTargets));
    }
    list.push_back(std::move(target).value());
    ++added;
  }
  data.aliases[alias.full()] = std::move(list);
  return added;
}

Status delete_alias(AccountsData& data, const AccountAddress& alias, const std::string* target) {
  auto found = data.aliases.find(alias.full());
  if (found == data.aliases.end()) return Error::not_found("no alias " + alias.full());
  if (target == nullptr) {
    data.aliases.erase(found);
    return Status::success();
  }
  Result<std::string> normal = parse_alias_target(*target, alias.domain, data);
  if (!normal) return normal.error();
  std::vector<std::string>& list = found->second;
  auto item = std::find(list.begin(), list.end(), *normal);
  if (item == list.end()) {
    return Error::not_found("alias " + alias.full() + " has no target " + *normal);
  }
  list.erase(item);
  if (list.empty()) data.aliases.erase(found);
  return Status::success();
}

std::vector<std::string> aliases_naming(const AccountsData& data, const std::string& address) {
  std::vector<std::string> out;
  for (const auto& [alias, targets] : data.aliases) {
    if (std::find(targets.begin(), targets.end(), address) != targets.end()) out.push_back(alias);
  }
  return out;
}

}  // namespace postern::cli
