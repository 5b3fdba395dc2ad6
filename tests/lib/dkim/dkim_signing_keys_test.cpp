// Tests authmilter/signing_keys: the keys authmilter signs with, read from the key store's
// layout. Retired keys do not sign; a domain with a broken key file is skipped, not fatal; a parent
// domain's key signs for its subdomains, never a single label's.
#include "authmilter/signing_keys.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "lib/dkim/dkim_key_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::authmilter {
namespace {

using test_support::TempDir;

void add_key(DkimKeyStore& store, const std::string& domain, const std::string& selector,
             DkimKeyType type) {
  Result<GeneratedDkimKey> key = generate_dkim_key(type, 1024);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(store.add_key(domain, selector, key->private_pem).ok());
}

TEST(SigningKeys, NoDirectoryIsNoKeys) {
  TempDir dir;
  Result<SigningKeys> keys = SigningKeys::load(dir.path() + "/missing");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->key_count(), 0u);
  EXPECT_EQ(keys->signing_domain_for("example.org"), "");
}

TEST(SigningKeys, SigningKeysRetiredKeysAndParents) {
  TempDir dir;
  DkimKeyStore store(dir.path() + "/dkim");
  add_key(store, "example.org", "r1", DkimKeyType::kRsa);
  add_key(store, "example.org", "e1", DkimKeyType::kEd25519);
  add_key(store, "example.org", "old", DkimKeyType::kRsa);
  ASSERT_TRUE(store.retire_key("example.org", "old").ok());
  add_key(store, "org", "tld", DkimKeyType::kEd25519);

  Result<SigningKeys> keys = SigningKeys::load(dir.path() + "/dkim");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->domain_count(), 2u);
  const std::vector<SigningKey>* mine = keys->keys_for("example.org");
  ASSERT_NE(mine, nullptr);
  ASSERT_EQ(mine->size(), 2u);
  for (const SigningKey& key : *mine) EXPECT_NE(key.selector, "old");
  EXPECT_EQ(keys->signing_domain_for("example.org"), "example.org");
  EXPECT_EQ(keys->signing_domain_for("mail.eu.example.org"), "example.org");
  EXPECT_EQ(keys->signing_domain_for("example.net"), "");  // "org" alone never signs
  EXPECT_EQ(keys->signing_domain_for("org"), "");
}

TEST(SigningKeys, ADomainWithABrokenKeyFileIsSkippedAndTheOthersLoad) {
  TempDir dir;
  DkimKeyStore store(dir.path() + "/dkim");
  add_key(store, "example.org", "good", DkimKeyType::kEd25519);
  add_key(store, "example.net", "fine", DkimKeyType::kEd25519);
  {
    std::ofstream broken(store.key_path("example.org", "zz", false));
    broken << "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
  }
  Result<SigningKeys> keys = SigningKeys::load(dir.path() + "/dkim");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->keys_for("example.org"), nullptr);
  ASSERT_NE(keys->keys_for("example.net"), nullptr);
  EXPECT_EQ(keys->keys_for("example.net")->size(), 1u);
}

}  // namespace
}  // namespace postern::authmilter
