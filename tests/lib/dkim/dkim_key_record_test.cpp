// Unit tests for lib/dkim/dkim_key_record.cpp and the key side of dkim_crypto.cpp: a record
// parsed field by field, revocation, v= placement, k= h= s= t=, the tag-list limits through a
// record (at N and N+1), and public keys from p= (SPKI and bare RSA, raw Ed25519 32 bytes, a
// 33-byte or SPKI-wrapped Ed25519 refused).
#include "lib/dkim/dkim_key_record.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_crypto.hpp"
#include "lib/dkim/dkim_tag_list.hpp"

namespace postern {
namespace {

// RFC 8463 A.2's RSA key (1024 bits) and Ed25519 key.
const std::string kRsaP =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzB"
    "fO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
const std::string kEdP = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

TEST(DkimKeyRecordTest, ParsesFields) {
  Result<DkimKeyRecord> record = parse_dkim_key_record(
      "v=DKIM1; k=ed25519; h=SHA256:sha1; s=email:*; t=y:s; n=notes; p=" + kEdP);
  ASSERT_TRUE(record.ok()) << record.error().message;
  EXPECT_EQ(record->key_type, DkimKeyType::kEd25519);
  EXPECT_EQ(record->public_key.size(), 32u);
  EXPECT_FALSE(record->revoked);
  EXPECT_TRUE(record->testing);
  EXPECT_TRUE(record->strict_identity);
  EXPECT_TRUE(dkim_key_allows_hash(*record, "sha256"));
  EXPECT_TRUE(dkim_key_allows_hash(*record, "sha1"));
}

TEST(DkimKeyRecordTest, DefaultsAndRevocation) {
  Result<DkimKeyRecord> record = parse_dkim_key_record("p=" + kRsaP);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->key_type, DkimKeyType::kRsa);
  EXPECT_TRUE(dkim_key_allows_hash(*record, "sha256"));
  EXPECT_FALSE(record->testing || record->strict_identity);
  Result<DkimKeyRecord> revoked = parse_dkim_key_record("v=DKIM1; p=");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->revoked);
  EXPECT_TRUE(parse_dkim_key_record("v=DKIM1; p= \r\n ")->revoked);
}

TEST(DkimKeyRecordTest, Refusals) {
  EXPECT_FALSE(parse_dkim_key_record("k=rsa; v=DKIM1; p=" + kRsaP).ok());  // v= not first
  EXPECT_FALSE(parse_dkim_key_record("v=DKIM3; p=" + kRsaP).ok());
  EXPECT_FALSE(parse_dkim_key_record("v=DKIM1: g=*; p=" + kRsaP).ok());
  EXPECT_FALSE(parse_dkim_key_record("v=DKIM1; k=ed25519-sha256; p=" + kRsaP).ok());
  EXPECT_FALSE(parse_dkim_key_record("v=DKIM1; s=tlsrpt; p=" + kRsaP).ok());
  EXPECT_FALSE(parse_dkim_key_record("v=DKIM1; k=rsa").ok());  // no p=
  EXPECT_FALSE(parse_dkim_key_record("v=DKIM1; p=!!!!").ok());
  EXPECT_FALSE(parse_dkim_key_record("k=rsa; t; p=" + kRsaP).ok());
  EXPECT_FALSE(parse_dkim_key_record("").ok());
  Result<DkimKeyRecord> hashes = parse_dkim_key_record("h=sha1; p=" + kRsaP);
  ASSERT_TRUE(hashes.ok());
  EXPECT_FALSE(dkim_key_allows_hash(*hashes, "sha256"));
}

TEST(DkimKeyRecordTest, TagLimitsThroughARecord) {
  std::string tags;
  for (size_t i = 1; i < kMaxDkimTags; ++i) tags += "x" + std::to_string(i) + "=1; ";
  EXPECT_TRUE(parse_dkim_key_record(tags + "p=" + kEdP).ok());
  EXPECT_FALSE(parse_dkim_key_record(tags + "y=1; p=" + kEdP).ok());
  std::string notes(kMaxDkimTagValueBytes, 'n');
  EXPECT_TRUE(parse_dkim_key_record("n=" + notes + "; p=" + kEdP).ok());
  EXPECT_FALSE(parse_dkim_key_record("n=" + notes + "n; p=" + kEdP).ok());
}

TEST(DkimPublicKeyTest, FromRecordBytes) {
  Result<DkimPublicKey> rsa =
      DkimPublicKey::from_record(DkimKeyType::kRsa, *dkim_base64_decode(kRsaP));
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(rsa->bits(), 1024);
  // The same key as a bare RSAPublicKey (the SPKI minus its 22-byte header).
  std::string spki = *dkim_base64_decode(kRsaP);
  Result<DkimPublicKey> bare = DkimPublicKey::from_record(DkimKeyType::kRsa, spki.substr(22));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->bits(), 1024);
  EXPECT_FALSE(DkimPublicKey::from_record(DkimKeyType::kRsa, spki.substr(0, spki.size() - 1)).ok());
  EXPECT_FALSE(DkimPublicKey::from_record(DkimKeyType::kRsa, spki + "x").ok());
  EXPECT_FALSE(DkimPublicKey::from_record(DkimKeyType::kRsa, "garbage").ok());

  std::string ed = *dkim_base64_decode(kEdP);
  Result<DkimPublicKey> ed_key = DkimPublicKey::from_record(DkimKeyType::kEd25519, ed);
  ASSERT_TRUE(ed_key.ok());
  EXPECT_EQ(ed_key->bits(), 256);
  EXPECT_FALSE(DkimPublicKey::from_record(DkimKeyType::kEd25519, ed + "x").ok());
  EXPECT_FALSE(DkimPublicKey::from_record(DkimKeyType::kEd25519, ed.substr(1)).ok());
  // An Ed25519 key wrapped in SPKI (Mail::DKIM's "invalid" selector) is not the raw key.
  EXPECT_FALSE(
      DkimPublicKey::from_record(
          DkimKeyType::kEd25519,
          *dkim_base64_decode("MCowBQYDK2VwAyEA3SUqa9UbfciWkk7tlcJ9P1VD5pXAasg0JUn/OgjVbKE="))
          .ok());
  // An Ed25519 key never checks an RSA signature and the other way round.
  EXPECT_FALSE(ed_key->verify(DkimAlgorithm::kRsaSha256, "data", std::string(64, 'x')));
  EXPECT_FALSE(rsa->verify(DkimAlgorithm::kEd25519Sha256, "data", std::string(128, 'x')));
}

}  // namespace
}  // namespace postern
