// What `postern dkim keygen|rotate|list|remove` and `postern dns` do once their words are
// parsed (dkim_cli.cpp, dns_cli.cpp), over lib/dkim/dkim_key_store: where the keys are
// (main.cf's dkim_key_directory, $config_directory being the -c folder), whether a domain is
// ours (mydestination, or a domain of the accounts file), the default selector
// "<type>-<YYYYMMDD>" (UTC; "-2", "-3" ... when taken) and the key changes themselves. Runs in
// the `postern` command as root or mail_owner; new folders and keys are owned by mail_owner (the
// milter's user) when run as root. The domain and selector come from the command line and are
// checked (is_valid_dkim_domain / is_valid_dkim_selector) before anything is read or written.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "cli/invocation.hpp"
#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/dkim/dkim_key_store.hpp"

namespace postern::cli {

// How many numbered selectors ("rsa-20261207-2" ...) are tried before giving up.
inline constexpr int kMaxSelectorAttempts = 100;

// main.cf of this invocation with config_directory set to the -c folder (absolute), as
// postern-master sets it for the daemons; nullopt after a message on stderr.
std::optional<MainConfig> load_dkim_config(const Invocation& invocation);

// The key folder of config, writing as mail_owner's when run as root.
Result<DkimKeyStore> open_dkim_key_store(const MainConfig& config);

// Whether domain (lower-case) is in mydestination or is a domain of the accounts file.
Result<bool> is_our_mail_domain(const MainConfig& config, const std::string& domain);

// "rsa-20261207" for the UTC day of now, or the first of "...-2", "...-3" not taken in domain.
Result<std::string> default_selector(const DkimKeyStore& store, const std::string& domain,
                                     DkimKeyType type, std::time_t now);

struct NewDkimKey {
  DkimKeyEntry key;                        // the key made (path, selector, record)
  std::vector<DkimKeyEntry> retired_keys;  // rotate: the keys it moved to retired/
};

// Makes a key and installs it under selector (default_selector when empty).
Result<NewDkimKey> make_dkim_key(DkimKeyStore& store, const std::string& domain,
                                 const std::string& selector, DkimKeyType type, int rsa_bits);

// For each type asked (or, with none, each type the domain signs with): a new key under a new
// selector, then the old signing keys of that type moved to retired/. rsa_bits: 0 keeps the
// size of the key replaced (kDefaultDkimRsaBits when there is none). kNotFound when the domain
// has no signing key and no type was asked.
Result<std::vector<NewDkimKey>> rotate_dkim_keys(DkimKeyStore& store, const std::string& domain,
                                                 std::optional<DkimKeyType> type, int rsa_bits);

}  // namespace postern::cli
