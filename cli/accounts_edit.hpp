// The edits `postern user|alias|domain` make to the accounts data (lib/auth/accounts.hpp's
// AccountsData), in memory: nothing here touches a file. Runs in the `postern` command. Names
// come from its command line (hostile: every address and domain is checked with the loader's own
// rules and bounded before it is used); the data comes from the accounts file through the
// loader master uses (already checked). Each edit leaves the data exactly as the loader would
// read it back (lower-case names, de-duplicated target lists), so that the file writer can
// check that what it wrote reads back equal (accounts_file.hpp).
//
// Errors: kParse for a malformed name (exit 2), kNotFound for an unknown domain, user, alias or
// target (exit 3), kPermanent for an edit that cannot be made as asked (exit 1: the user exists
// already, the domain still has users, too many targets).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "lib/base/result.hpp"

namespace postern::cli {

inline constexpr size_t kMaxAddressBytes = 64 + 1 + 255;  // local part, '@', domain

struct AccountAddress {
  std::string local;   // lower-case dot-atom, at most 64 bytes
  std::string domain;  // lower-case LDH name
  std::string full() const { return local + "@" + domain; }
};

// "Local@Domain" from the command line: one '@', a valid local part (no '/': user names become
// folder names), a valid domain; both lower-cased.
Result<AccountAddress> parse_account_address(std::string_view text);
// A domain name from the command line, lower-cased and checked.
Result<std::string> parse_domain_argument(std::string_view text);
// An alias target: "local" (in domain) or "local@domain", normalised as the loader does (domain
// lower-cased; local part lower-cased when the domain is one of ours).
Result<std::string> parse_alias_target(std::string_view text, const std::string& domain,
                                       const AccountsData& data);

// What the loader does to every list once the set of our domains is known: targets in our
// domains lower-cased, duplicates dropped (first kept). Called after domains change.
void normalise_accounts(AccountsData& data);

Status add_domain(AccountsData& data, const std::string& domain);
// force: also removes the domain's users (and their send_as), aliases and catch-all.
// Without it, a domain that has any of them is refused.
Status delete_domain(AccountsData& data, const std::string& domain, bool force);

// The domain must be ours (kNotFound), the user new (kPermanent).
Status add_user(AccountsData& data, const AccountAddress& user, std::string password_hash);
Status set_user_password(AccountsData& data, const AccountAddress& user, std::string password_hash);
Status delete_user(AccountsData& data, const AccountAddress& user);

// Adds targets to the alias (creating it); targets it already has are skipped. Returns how many
// were new. At most kMaxAliasTargets in all.
Result<size_t> add_alias(AccountsData& data, const AccountAddress& alias,
                         const std::vector<std::string>& targets);
// Without a target, the whole alias; with one, that target (and the alias with its last one).
Status delete_alias(AccountsData& data, const AccountAddress& alias, const std::string* target);

// Aliases (in AccountsData) that name address among their targets, for a note after user del.
std::vector<std::string> aliases_naming(const AccountsData& data, const std::string& address);

// "local@domain" -> "domain" (the part after the last '@').
std::string_view domain_of(std::string_view address);

}  // namespace postern::cli
