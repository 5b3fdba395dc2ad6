// The key changes of `postern dkim` (see dkim_commands.hpp).
#include "cli/dkim_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "cli/accounts_file.hpp"
#include "cli/master_check.hpp"
#include "lib/base/ascii.hpp"

namespace postern::cli {

std::optional<MainConfig> load_dkim_config(const Invocation& invocation) {
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return std::nullopt;
  const std::string dir = absolute_config_dir(invocation.config_dir);
  if (Status set = config->set("config_directory", dir); !set) {
    std::fprintf(stderr, "postern %s: %s\n", invocation.command.c_str(),
                 set.error().describe().c_str());
    return std::nullopt;
  }
  return config;
}

Result<DkimKeyStore> open_dkim_key_store(const MainConfig& config) {
  Result<UserIds> owner = daemon_file_owner(config);
  if (!owner) return owner.error();
  const std::string directory = config.get("dkim_key_directory");
  if (directory.empty() || directory.front() != '/') {
    return Error::config("dkim_key_directory must be an absolute path, not \"" + directory + "\"");
  }
  return DkimKeyStore(directory, owner->uid, owner->gid);
}

Result<bool> is_our_mail_domain(const MainConfig& config, const std::string& domain) {
  for (const std::string& destination : config.get_list("mydestination")) {
    if (ascii_lowercase(destination) == domain) return true;
  }
  Result<AccountsFile> accounts = read_accounts_file(config.get("accounts_file"));
  if (!accounts) return accounts.error();
  return accounts->data.domains.count(domain) > 0;
}

Result<std::string> default_selector(const DkimKeyStore& store, const std::string& domain,
                                     DkimKeyType type, std::time_t now) {
  std::tm day{};
  if (::gmtime_r(&now, &day) == nullptr) return Error::system("gmtime");
  const std::string base = fmt::format("{}-{:04}{:02}{:02}", dkim_key_type_name(type),
                                       day.tm_year + 1900, day.tm_mon + 1, day.tm_mday);
  for (int attempt = 1; attempt <= kMaxSelectorAttempts; ++attempt) {
    std::string selector = attempt == 1 ? base : fmt::format("{}-{}", base, attempt);
    Result<bool> taken = store.selector_taken(domain, selector);
    if (!taken) return taken.error();
    if (!*taken) return selector;
  }
  return Error::limit(fmt::format("{} has {} keys named {}...: give --selector", domain,
                                  kMaxSelectorAttempts, base));
}

Result<NewDkimKey> make_dkim_key(DkimKeyStore& store, const std::string& domain,
                                 const std::string& selector, DkimKeyType type, int rsa_bits) {
  std::string chosen = selector;
  if (chosen.empty()) {
    Result<std::string> made = default_selector(store, domain, type, std::time(nullptr));
    if (!made) return made.error();
    chosen = std::move(made).value();
  }
  // Checked before the key is made: a taken selector should not cost an RSA key generation.
  Result<bool> taken = store.selector_taken(domain, chosen);
  if (!taken) return taken.error();
  if (*taken) {
    return Error{ErrorKind::kPermanent,
                 "selector " + chosen + " of " + domain +
                     " exists already: a key is never "
                     "overwritten (postern dkim rotate makes a new one)",
                 0};
  }
  Result<GeneratedDkimKey> generated = generate_dkim_key(type, rsa_bits);
  if (!generated) return generated.error();
  if (Status added = store.add_key(domain, chosen, generated->private_pem); !added) {
    return added.error();
  }
  NewDkimKey result;
  result.key = DkimKeyEntry{domain, chosen, store.key_path(domain, chosen, false), false,
                            generated->public_key};
  return result;
}

Result<std::vector<NewDkimKey>> rotate_dkim_keys(DkimKeyStore& store, const std::string& domain,
                                                 std::optional<DkimKeyType> type, int rsa_bits) {
  Result<std::vector<DkimKeyEntry>> keys = store.domain_keys(domain);
  if (!keys) return keys.error();
  std::vector<DkimKeyType> types;
  if (type) {
    types.push_back(*type);
  } else {
    for (const DkimKeyEntry& key : *keys) {
      if (!key.retired &&
          std::find(types.begin(), types.end(), key.public_key.type) == types.end()) {
        types.push_back(key.public_key.type);
      }
    }
    if (types.empty()) {
      return Error::not_found(domain + " has no signing key to rotate (postern dkim keygen " +
                              domain + " makes one)");
    }
  }
  std::vector<NewDkimKey> rotated;
  for (DkimKeyType each : types) {
    int bits = rsa_bits != 0 ? rsa_bits : kDefaultDkimRsaBits;
    std::vector<DkimKeyEntry> old;
    for (const DkimKeyEntry& key : *keys) {
      if (key.retired || key.public_key.type != each) continue;
      old.push_back(key);
      if (rsa_bits == 0 && each == DkimKeyType::kRsa) {
        bits = std::clamp(key.public_key.bits, kMinGeneratedDkimRsaBits, kMaxGeneratedDkimRsaBits);
      }
    }
    // The new key first, then the old ones retired: the domain always has a key to sign with.
    Result<NewDkimKey> made = make_dkim_key(store, domain, "", each, bits);
    if (!made) return made.error();
    for (DkimKeyEntry& key : old) {
      if (Status retired = store.retire_key(domain, key.selector); !retired) {
        return retired.error();
      }
      key.retired = true;
      key.path = store.key_path(domain, key.selector, true);
      made->retired_keys.push_back(key);
    }
    rotated.push_back(std::move(made).value());
  }
  return rotated;
}

}  // namespace postern::cli
