// Unit tests for lib/arc/arc_forward_sealing.cpp: which key seals a forwarded copy (the
// recipient domain's or its nearest parent's first RSA key; an Ed25519-only domain gets no
// seal), arc_sealing off seals nothing, and the lines it gives are a seal our verifier accepts.
// Keys are written in dkim_key_directory's layout (DOMAIN/SELECTOR.key) from PEM made here.
#include "lib/arc/arc_forward_sealing.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lib/arc/arc_verifier.hpp"
#include "lib/dkim/dkim_private_key.hpp"
#include "tests/lib/arc/arc_suite.hpp"
#include "tests/lib/dkim/dkim_test_keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

constexpr std::string_view kReceived =
    "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com; arc=none\r\n"
    "From: <alice@example.com>\r\n"
    "Subject: to an alias\r\n"
    "\r\n"
    "body\r\n";

void write_key(const std::string& directory, const std::string& domain, const std::string& selector,
               const std::string& pem) {
  std::filesystem::create_directories(directory + "/" + domain);
  std::ofstream(directory + "/" + domain + "/" + selector + ".key") << pem;
}

ArcChunkReader reader_of(const std::string& raw) {
  return [&raw](const ArcChunkSink& sink) { return sink(raw); };
}

class ArcForwardSealingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = dir_.path() + "/dkim";
    write_key(directory_, "example.org", "a-ed", dkim_test::ed25519_pem_from_seed(seed_));
    write_key(directory_, "example.org", "b-rsa", dkim_test::rsa_pem(1024));
    write_key(directory_, "example.net", "only-ed", dkim_test::ed25519_pem_from_seed(seed_));
    Result<DkimSigningKeys> keys = DkimSigningKeys::load(directory_);
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    ASSERT_EQ(keys->key_count(), 3u);
    keys_.emplace(std::move(keys).value());
  }

  test_support::TempDir dir_;
  std::string directory_;
  std::string seed_ = std::string(32, 'k');
  std::optional<DkimSigningKeys> keys_;
};

TEST_F(ArcForwardSealingTest, TheRecipientDomainsOrAParentsRsaKeySeals) {
  ArcForwardSealing sealing(true, &*keys_, "mx.example.org");
  EXPECT_TRUE(sealing.can_seal_for("example.org"));
  EXPECT_TRUE(sealing.can_seal_for("Lists.Example.ORG"));
  EXPECT_FALSE(sealing.can_seal_for("example.net"));  // Ed25519 only
  EXPECT_FALSE(sealing.can_seal_for("example.com"));

  std::string raw(kReceived);
  std::string prepend = sealing.seal("QID1", "lists.example.org", reader_of(raw), {}, 1796677200);
  ASSERT_FALSE(prepend.empty());
  EXPECT_NE(prepend.find("d=example.org;"), std::string::npos) << prepend;
  EXPECT_NE(prepend.find("s=b-rsa;"), std::string::npos) << prepend;
  EXPECT_NE(prepend.find("a=rsa-sha256;"), std::string::npos) << prepend;

  Result<DkimPrivateKey> key = load_dkim_private_key(dkim_test::rsa_pem(1024));
  ASSERT_TRUE(key.ok());
  YAML::Node document;
  document["txt_records"]["b-rsa._domainkey.example.org"] = dkim_test::key_record(*key);
  testing::ArcSuiteZone zone(document);
  testing::ArcMessage message = testing::split_arc_message(prepend + raw);
  ArcVerifier verifier(message.headers, ArcVerifyOptions{});
  verifier.add_body(message.body);
  ArcResult result = verifier.finish(zone);
  EXPECT_EQ(result.status, ArcChainStatus::kPass) << result.reason;

  EXPECT_EQ(sealing.seal("QID2", "example.net", reader_of(raw), {}, 1796677200), "");
  EXPECT_EQ(sealing.seal("QID3", "example.com", reader_of(raw), {}, 1796677200), "");
}

TEST_F(ArcForwardSealingTest, OffOrWithoutKeysNothingIsSealed) {
  std::string raw(kReceived);
  ArcForwardSealing off(false, &*keys_, "mx.example.org");
  EXPECT_FALSE(off.can_seal_for("example.org"));
  EXPECT_EQ(off.seal("QID", "example.org", reader_of(raw), {}, 1796677200), "");
  ArcForwardSealing keyless(true, nullptr, "mx.example.org");
  EXPECT_FALSE(keyless.can_seal_for("example.org"));
  EXPECT_EQ(keyless.seal("QID", "example.org", reader_of(raw), {}, 1796677200), "");
  // Another authserv-id than the one in the message: not ours, not sealed.
  ArcForwardSealing elsewhere(true, &*keys_, "mx.example.net");
  EXPECT_EQ(elsewhere.seal("QID", "example.org", reader_of(raw), {}, 1796677200), "");
}

}  // namespace
}  // namespace postern
