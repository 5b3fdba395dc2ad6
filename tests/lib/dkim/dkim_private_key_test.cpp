// Unit tests for lib/dkim/dkim_private_key.cpp: RSA keys in PKCS#1 and PKCS#8 PEM, Ed25519 in
// PKCS#8, type() and bits(), the p= text, refusals (garbage, an encrypted key, an EC key, a
// file over kMaxDkimPemBytes at N+1), and signatures that the public side checks.
#include "lib/dkim/dkim_private_key.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <filesystem>
#include <string>

#include "lib/dkim/dkim_crypto.hpp"
#include "tests/lib/dkim/dkim_test_keys.hpp"
#include "tests/lib/dkim/dkim_test_support.hpp"

namespace postern {
namespace {

const std::string kTestdata = std::string(POSTERN_SHARED_TESTDATA) + "/dkim";

TEST(DkimPrivateKeyTest, RsaPkcs1FromTheRfcAndPkcs8) {
  if (!std::filesystem::exists(kTestdata + "/rfc8463")) {
    GTEST_SKIP() << "shared DKIM test data not found at " << kTestdata;
  }
  std::string pem = dkim_test::read_file(kTestdata + "/rfc8463/test.rsa.private.pem");
  ASSERT_NE(pem.find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  Result<DkimPrivateKey> key = load_dkim_private_key(pem);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->type(), DkimKeyType::kRsa);
  EXPECT_EQ(key->bits(), 1024);
  // The same public key the RFC publishes at test._domainkey.football.example.com.
  std::string zone = dkim_test::read_file(kTestdata + "/rfc8463/dns-records.zone");
  EXPECT_NE(zone.find("p=" + key->public_key_base64() + "\""), std::string::npos);

  Result<DkimPrivateKey> pkcs8 = load_dkim_private_key(dkim_test::rsa_pem(2048));
  ASSERT_TRUE(pkcs8.ok());
  EXPECT_EQ(pkcs8->bits(), 2048);
}

TEST(DkimPrivateKeyTest, Ed25519SignsWhatThePublicKeyChecks) {
  Result<DkimPrivateKey> key = load_dkim_private_key(dkim_test::new_ed25519_pem());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->type(), DkimKeyType::kEd25519);
  EXPECT_EQ(key->bits(), 256);
  Result<std::string> signature = key->sign("header block");
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(signature->size(), 64u);
  Result<DkimPublicKey> pub = DkimPublicKey::from_record(
      DkimKeyType::kEd25519, *dkim_base64_decode(key->public_key_base64()));
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->verify(DkimAlgorithm::kEd25519Sha256, "header block", *signature));
  EXPECT_FALSE(pub->verify(DkimAlgorithm::kEd25519Sha256, "header blocK", *signature));
}

TEST(DkimPrivateKeyTest, RsaSignsWhatThePublicKeyChecks) {
  Result<DkimPrivateKey> key = load_dkim_private_key(dkim_test::rsa_pem(1024));
  ASSERT_TRUE(key.ok());
  Result<std::string> signature = key->sign("header block");
  ASSERT_TRUE(signature.ok());
  Result<DkimPublicKey> pub =
      DkimPublicKey::from_record(DkimKeyType::kRsa, *dkim_base64_decode(key->public_key_base64()));
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->verify(DkimAlgorithm::kRsaSha256, "header block", *signature));
  EXPECT_FALSE(pub->verify(DkimAlgorithm::kRsaSha1, "header block", *signature));
}

TEST(DkimPrivateKeyTest, Refusals) {
  EXPECT_FALSE(load_dkim_private_key("").ok());
  EXPECT_FALSE(load_dkim_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                     "KEY-----\n")
                   .ok());
  // Encrypted: refused without asking for a passphrase.
  EVP_PKEY* rsa = EVP_RSA_gen(1024);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, rsa, EVP_aes_128_cbc(), nullptr, 0, nullptr,
                           const_cast<char*>("secret"));
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string encrypted(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
  EXPECT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(load_dkim_private_key(encrypted).ok());
  // EC keys are not DKIM keys.
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  std::string ec_pem = dkim_test::pem_of(ec);
  EVP_PKEY_free(ec);
  EXPECT_FALSE(load_dkim_private_key(ec_pem).ok());
  // Size limit: N accepted (padded with a comment-free tail PEM ignores), N+1 refused.
  std::string pem = dkim_test::new_ed25519_pem();
  std::string at_limit = pem + std::string(kMaxDkimPemBytes - pem.size(), '\n');
  EXPECT_TRUE(load_dkim_private_key(at_limit).ok());
  Result<DkimPrivateKey> over = load_dkim_private_key(at_limit + "\n");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

}  // namespace
}  // namespace postern
