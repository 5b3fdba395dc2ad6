// The signing keys of dkim_key_directory (see dkim_signing_keys.hpp).
#include "lib/dkim/dkim_signing_keys.hpp"

#include "lib/base/file_read.hpp"
#include "lib/base/log.hpp"
#include "lib/dkim/dkim_key_store.hpp"

namespace postern {

Result<DkimSigningKeys> DkimSigningKeys::load(const std::string& directory) {
  DkimSigningKeys loaded;
  DkimKeyStore store(directory);
  Result<std::vector<std::string>> domains = store.domains();
  if (!domains) return Error::config(directory + ": " + domains.error().message);
  for (const std::string& domain : *domains) {
    Result<std::vector<DkimKeyEntry>> entries = store.domain_keys(domain);
    if (!entries) {
      log::warning("DKIM keys of {}: {}", domain, entries.error().message);
      continue;
    }
    for (const DkimKeyEntry& entry : *entries) {
      if (entry.retired) continue;
      Result<std::string> pem = read_small_file(entry.path, kMaxDkimKeyFileBytes);
      if (!pem) {
        log::warning("DKIM key {}: {}", entry.path, pem.error().message);
        continue;
      }
      Result<DkimPrivateKey> key = load_dkim_private_key(*pem);
      if (!key) {
        log::warning("DKIM key {}: {}", entry.path, key.error().message);
        continue;
      }
      loaded.keys_[domain].push_back(DkimSigningKey{entry.selector, std::move(key).value()});
    }
  }
  return loaded;
}

const std::vector<DkimSigningKey>* DkimSigningKeys::keys_for(std::string_view domain) const {
  auto found = keys_.find(domain);
  return found == keys_.end() ? nullptr : &found->second;
}

std::string DkimSigningKeys::signing_domain_for(std::string_view domain) const {
  // Stop before a single label: a key for "org" never signs for example.org.
  while (domain.find('.') != std::string_view::npos) {
    if (keys_for(domain) != nullptr) return std::string(domain);
    domain.remove_prefix(domain.find('.') + 1);
  }
  return {};
}

const DkimSigningKey* DkimSigningKeys::rsa_key_for(std::string_view domain) const {
  const std::vector<DkimSigningKey>* keys = keys_for(domain);
  if (keys == nullptr) return nullptr;
  for (const DkimSigningKey& key : *keys) {
    if (key.key.type() == DkimKeyType::kRsa) return &key;
  }
  return nullptr;
}

size_t DkimSigningKeys::key_count() const {
  size_t count = 0;
  for (const auto& [domain, keys] : keys_) count += keys.size();
  return count;
}

}  // namespace postern
