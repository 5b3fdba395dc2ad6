// Accounts: our domains, users (with crypt(3) password hashes), aliases, catch-alls and the
// postmaster. Written by hand as YAML (accounts_file), loaded into LMDB (data_directory/accounts)
// by master at start and on SIGHUP, and read at run time by smtpd, qmgr and delivery, which see
// a committed change at once. The YAML is the admin's (trusted, but checked); lookups take
// addresses from the network (hostile; bounded by the address parser's limits).
//
// accounts.yaml:
//   postmaster: admin@example.org          # where postmaster@<each domain> goes
//   domains:
//     example.org:
//       catch_all: admin                   # optional: local part, or a full address
//       users:
//         admin:
//           password: "$y$j9T$..."         # crypt(3) hash; never plain text
//           send_as: [sales@example.org]   # optional, for submission
//       aliases:
//         info: admin                      # or a list: [admin, someone@elsewhere.net]
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/store/lmdb.hpp"
#include "lib/base/result.hpp"

namespace postern {

inline constexpr int kMaxAliasDepth = 10;
inline constexpr size_t kMaxAliasTargets = 1000;

struct AccountsData {
  std::string postmaster;                        // full address, may be empty
  std::set<std::string> domains;                 // lower-case
  std::map<std::string, std::string> passwords;  // "user@domain" -> crypt hash
  std::map<std::string, std::vector<std::string>> send_as;   // "user@domain" -> addresses
  std::map<std::string, std::vector<std::string>> aliases;   // "local@domain" -> targets
  std::map<std::string, std::vector<std::string>> catch_alls;  // "domain" -> targets
};

Result<AccountsData> parse_accounts_yaml(std::string_view text, std::string_view file_name);
Result<AccountsData> load_accounts_yaml(const std::string& path);

// The checks parse_accounts_yaml applies, for the CLI that edits the same data: a local part
// is an RFC 5322 dot-atom of at most 64 bytes; a domain an LDH name (lower-case, labels of at
// most 63 bytes, at most 255 in all).
bool is_valid_local_part(std::string_view local);
bool is_valid_domain_name(std::string_view domain);

// SHA-256 (hex) of everything in data, in a fixed order. store() keeps it in LMDB, so that the
// CLI, after asking master to reload, can tell when master has loaded exactly what it wrote.
std::string accounts_fingerprint(const AccountsData& data);

bool operator==(const AccountsData& a, const AccountsData& b);

// Where a recipient address goes.
struct Resolution {
  bool ours = false;                    // the domain is one of ours
  bool known = false;                   // ours and it resolves to at least one target
  std::vector<std::string> mailboxes;   // local mailboxes "user@domain"
  std::vector<std::string> remote;      // addresses outside our domains (forwarding)
};

class AccountsDb {
 public:
  // Opens (creating when absent) the LMDB environment in directory db_dir.
  static Result<AccountsDb> open(const std::string& db_dir, bool read_only);
  // Replaces everything in one write transaction: readers see the old or the new set.
  Status store(const AccountsData& data);

  Result<bool> is_our_domain(std::string_view domain) const;
  // Resolves aliases (recursively, depth <= kMaxAliasDepth), plus-addressing (delimiters, e.g.
  // "+"), postmaster and catch-all, in that order of preference: alias, user, stripped alias,
  // stripped user, postmaster, catch-all. Local parts are compared case-insensitively.
  Result<Resolution> resolve(std::string_view address, std::string_view delimiters) const;
  // nullopt when there is no such user or the user has no password (cannot log in).
  Result<std::optional<std::string>> password_hash(std::string_view user) const;
  // The extra addresses "user@domain" may send as (submission); empty when none. The user's own
  // address is always allowed and is not listed.
  Result<std::vector<std::string>> send_as(std::string_view user) const;
  // Whether the authenticated user "user@domain" may use address as a sender (MAIL FROM and
  // each From: address on submission). Yes for: the user's own address or a plus-addressed form
  // of it (delimiters, e.g. "+"); an address in the user's send_as list, or a plus form of one;
  // an alias of ours (looked up as resolve() does: the exact address, else its plus-stripped
  // form; postmaster@<our domain> counts as the postmaster alias) whose OWN target list names
  // the user. Aliases are not followed through other aliases, and a catch-all never makes an
  // address anyone's. Comparisons are ASCII case-insensitive. An address without '@': no.
  Result<bool> may_send_as(std::string_view user, std::string_view address,
                           std::string_view delimiters) const;
  // accounts_fingerprint() of what the last store() wrote; nullopt before the first one.
  Result<std::optional<std::string>> fingerprint() const;

 private:
  explicit AccountsDb(LmdbEnv env) : env_(std::move(env)) {}
  LmdbEnv env_;
};

}  // namespace postern
