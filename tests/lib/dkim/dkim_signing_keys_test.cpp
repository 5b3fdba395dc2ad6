// Tests lib/dkim/dkim_signing_keys: the keys authmilter signs and qmgr/local seal with, read from
// the key store's layout. Retired keys do not sign; a domain with a broken key file is skipped, not
// fatal; a parent domain's key signs for its subdomains, never a single label's.
#include "lib/dkim/dkim_signing_keys.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "lib/dkim/dkim_key_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

using test_support::TempDir;

void add_key(DkimKeyStore& store, const std::string& domain, const std::string& selector,
             DkimKeyType type) {
  Result<GeneratedDkimKey> key = generate_dkim_key(type, 1024);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(store.add_key(domain, selector, key->private_pem).ok());
}

TEST(DkimSigningKeys, NoDirectoryIsNoKeys) {
  TempDir dir;
  Result<DkimSigningKeys> keys = DkimSigningKeys::load(dir.path() + "/missing");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->key_count(), 0u);
  EXPECT_EQ(keys->signing_domain_for("example.org"), "");
}

TEST(DkimSigningKeys, SigningKeysRetiredKeysAndParents) {
  TempDir dir;
  DkimKeyStore store(dir.path() + "/dkim");
  add_key(store, "example.org", "r1", DkimKeyType::kRsa);
  add_key(store, "example.org", "e1", DkimKeyType::kEd25519);
  add_key(store, "example.org", "old", DkimKeyType::kRsa);
  ASSERT_TRUE(store.retire_key("example.org", "old").ok());
  add_key(store, "org", "tld", DkimKeyType::kEd25519);

  Result<DkimSigningKeys> keys = DkimSigningKeys::load(dir.path() + "/dkim");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->domain_count(), 2u);
  const std::vector<DkimSigningKey>* mine = keys->keys_for("example.org");
  ASSERT_NE(mine, nullptr);
  ASSERT_EQ(mine->size(), 2u);
  for (const DkimSigningKey& key : *mine) EXPECT_NE(key.selector, "old");
  EXPECT_EQ(keys->signing_domain_for("example.org"), "example.org");
  EXPECT_EQ(keys->signing_domain_for("mail.eu.example.org"), "example.org");
  EXPECT_EQ(keys->signing_domain_for("example.net"), "");  // "org" alone never signs
  EXPECT_EQ(keys->signing_domain_for("org"), "");
}

TEST(DkimSigningKeys, RsaKeyForGivesTheFirstRsaKeyOrNone) {
  TempDir dir;
  DkimKeyStore store(dir.path() + "/dkim");
  add_key(store, "example.org", "a-ed", DkimKeyType::kEd25519);
  add_key(store, "example.org", "b-rsa", DkimKeyType::kRsa);
  add_key(store, "example.net", "only-ed", DkimKeyType::kEd25519);

  Result<DkimSigningKeys> keys = DkimSigningKeys::load(dir.path() + "/dkim");
  ASSERT_TRUE(keys.ok());
  const DkimSigningKey* rsa = keys->rsa_key_for("example.org");
  ASSERT_NE(rsa, nullptr);
  EXPECT_EQ(rsa->selector, "b-rsa");
  EXPECT_EQ(rsa->key.type(), DkimKeyType::kRsa);
  EXPECT_EQ(keys->rsa_key_for("example.net"), nullptr);       // Ed25519 only
  EXPECT_EQ(keys->rsa_key_for("mail.example.org"), nullptr);  // exactly this domain
  EXPECT_EQ(keys->rsa_key_for("example.com"), nullptr);
}

TEST(DkimSigningKeys, ADomainWithABrokenKeyFileIsSkippedAndTheOthersLoad) {
  TempDir dir;
  DkimKeyStore store(dir.path() + "/dkim");
  add_key(store, "example.org", "good", DkimKeyType::kEd25519);
  add_key(store, "example.net", "fine", DkimKeyType::kEd25519);
  {
    std::ofstream broken(store.key_path("example.org", "zz", false));
    broken << "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
  }
  Result<DkimSigningKeys> keys = DkimSigningKeys::load(dir.path() + "/dkim");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->keys_for("example.org"), nullptr);
  ASSERT_NE(keys->keys_for("example.net"), nullptr);
  EXPECT_EQ(keys->keys_for("example.net")->size(), 1u);
}

}  // namespace
}  // namespace postern
