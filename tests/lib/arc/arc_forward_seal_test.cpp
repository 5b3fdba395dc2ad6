// Unit tests for lib/arc/arc_forward_seal.cpp: a message checked at receipt by our verifier
// (its result in an Authentication-Results of our authserv-id, as postern-authmilter writes
// it), then sealed for forwarding from its raw bytes read in small chunks, must verify with
// lib/arc's ArcVerifier: i=1 cv=none on a message without ARC, i=2 cv=pass after a second hop,
// cv=fail on a chain found broken. Nothing is sealed without our Authentication-Results, with
// another ADMD's only, without an arc= result, or after a cv=fail seal. Keys are RSA made at run
// time (two sizes, so two keys); the zone holds only their records.
#include "lib/arc/arc_forward_seal.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "lib/arc/arc_verifier.hpp"
#include "lib/dkim/dkim_private_key.hpp"
#include "tests/lib/arc/arc_suite.hpp"
#include "tests/lib/dkim/dkim_test_keys.hpp"

namespace postern {
namespace {

using testing::ArcMessage;
using testing::ArcSuiteZone;

constexpr std::string_view kOriginal =
    "From: Alice <alice@example.com>\r\n"
    "To: list@example.org\r\n"
    "Subject: forwarded\r\n"
    "Date: Mon, 7 Dec 2026 21:00:00 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Hello,\r\n"
    "this goes through an alias.\r\n";

struct Keys {
  DkimPrivateKey first;
  DkimPrivateKey second;
  YAML::Node zone_document;
};

DkimPrivateKey make_key(YAML::Node& document, const std::string& name, unsigned bits) {
  Result<DkimPrivateKey> key = load_dkim_private_key(dkim_test::rsa_pem(bits));
  EXPECT_TRUE(key.ok());
  document["txt_records"][name] = "v=DKIM1; k=rsa; p=" + key->public_key_base64();
  return std::move(key).value();
}

Keys& keys() {
  static Keys* made = [] {
    YAML::Node document;
    DkimPrivateKey first = make_key(document, "arc._domainkey.example.org", 1024);
    DkimPrivateKey second = make_key(document, "hop._domainkey.example.net", 2048);
    return new Keys{std::move(first), std::move(second), document};
  }();
  return *made;
}

ArcResult verify(std::string_view raw) {
  ArcSuiteZone zone(keys().zone_document);
  ArcMessage message = testing::split_arc_message(raw);
  ArcVerifier verifier(message.headers, ArcVerifyOptions{});
  verifier.add_body(message.body);
  return verifier.finish(zone);
}

// What authmilter does at receipt: check the chain, write our Authentication-Results on top.
std::string received_by(std::string_view raw, std::string_view authserv_id) {
  ArcResult chain = verify(raw);
  return "Authentication-Results: " + std::string(authserv_id) +
         "; spf=pass smtp.mailfrom=example.com;\r\n\t" + chain.resinfo("192.0.2.1") + "\r\n" +
         std::string(raw);
}

ArcChunkReader reader_of(const std::string& raw, size_t piece) {
  return [&raw, piece](const ArcChunkSink& sink) -> Status {
    for (size_t at = 0; at < raw.size(); at += piece) {
      if (Status s = sink(std::string_view(raw).substr(at, piece)); !s) return s;
    }
    return {};
  };
}

ArcForwardSealRequest request_for(std::string authserv_id, std::string domain, std::string selector,
                                  const DkimPrivateKey* key) {
  ArcForwardSealRequest request;
  request.authserv_id = std::move(authserv_id);
  request.key = ArcSealingKey{std::move(domain), std::move(selector), key};
  request.options.timestamp = 1796677200;
  return request;
}

Result<ArcForwardSeal> seal(const std::string& raw, const ArcForwardSealRequest& request,
                            size_t piece = 7) {
  return arc_seal_forward_message(reader_of(raw, piece), {}, request);
}

TEST(ArcForwardSeal, NoChainIsSealedAsInstanceOneAndVerifies) {
  std::string received = received_by(kOriginal, "mx.example.org");
  for (size_t piece : {size_t{1}, size_t{7}, received.size()}) {
    Result<ArcForwardSeal> sealed =
        seal(received, request_for("mx.example.org", "example.org", "arc", &keys().first), piece);
    ASSERT_TRUE(sealed.ok()) << sealed.error().message;
    ASSERT_TRUE(sealed->sealed) << sealed->why_not;
    EXPECT_EQ(sealed->instance, 1u);
    EXPECT_EQ(sealed->chain_status, ArcChainStatus::kNone);
    EXPECT_EQ(sealed->prepend.rfind("ARC-Seal: ", 0), 0u) << sealed->prepend;
    EXPECT_NE(sealed->prepend.find("\r\nARC-Message-Signature: "), std::string::npos);
    EXPECT_NE(sealed->prepend.find("\r\nARC-Authentication-Results: i=1; mx.example.org;"),
              std::string::npos);
    EXPECT_NE(sealed->prepend.find("cv=none;"), std::string::npos);
    EXPECT_NE(sealed->prepend.find("arc=none"), std::string::npos);  // our resinfos in the AAR
    EXPECT_EQ(sealed->prepend.substr(sealed->prepend.size() - 2), "\r\n");

    ArcResult result = verify(sealed->prepend + received);
    EXPECT_EQ(result.status, ArcChainStatus::kPass) << result.reason;
    EXPECT_EQ(result.instances, 1u);
    EXPECT_EQ(result.seal_domain, "example.org");
  }
}

TEST(ArcForwardSeal, ASecondHopAddsInstanceTwoWithCvPass) {
  std::string received = received_by(kOriginal, "mx.example.org");
  Result<ArcForwardSeal> first =
      seal(received, request_for("mx.example.org", "example.org", "arc", &keys().first));
  ASSERT_TRUE(first.ok() && first->sealed);
  std::string at_second = received_by(first->prepend + received, "mx.example.net");
  ASSERT_NE(at_second.find("arc=pass"), std::string::npos) << at_second.substr(0, 200);
  Result<ArcForwardSeal> second =
      seal(at_second, request_for("MX.example.NET", "example.net", "hop", &keys().second));
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_TRUE(second->sealed) << second->why_not;
  EXPECT_EQ(second->instance, 2u);
  EXPECT_EQ(second->chain_status, ArcChainStatus::kPass);
  EXPECT_NE(second->prepend.find("cv=pass;"), std::string::npos);
  ArcResult result = verify(second->prepend + at_second);
  EXPECT_EQ(result.status, ArcChainStatus::kPass) << result.reason;
  EXPECT_EQ(result.instances, 2u);
  EXPECT_EQ(result.seal_domain, "example.net");
}

TEST(ArcForwardSeal, ABrokenChainIsSealedWithCvFailAndThenEnds) {
  std::string received = received_by(kOriginal, "mx.example.org");
  Result<ArcForwardSeal> first =
      seal(received, request_for("mx.example.org", "example.org", "arc", &keys().first));
  ASSERT_TRUE(first.ok() && first->sealed);
  std::string tampered = first->prepend + received + "a footer added on the way\r\n";
  std::string at_second = received_by(tampered, "mx.example.net");
  ASSERT_NE(at_second.find("arc=fail"), std::string::npos);
  Result<ArcForwardSeal> second =
      seal(at_second, request_for("mx.example.net", "example.net", "hop", &keys().second));
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_TRUE(second->sealed) << second->why_not;
  EXPECT_EQ(second->instance, 2u);
  EXPECT_EQ(second->chain_status, ArcChainStatus::kFail);
  EXPECT_NE(second->prepend.find("cv=fail;"), std::string::npos);
  ArcResult result = verify(second->prepend + at_second);
  EXPECT_EQ(result.status, ArcChainStatus::kFail);
  EXPECT_TRUE(result.newest_seal_failed);

  // Nobody adds to a chain that ends in cv=fail, though our own check says arc=fail.
  std::string at_third = received_by(second->prepend + at_second, "mx.example.org");
  Result<ArcForwardSeal> third =
      seal(at_third, request_for("mx.example.org", "example.org", "arc", &keys().first));
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->sealed);
  EXPECT_TRUE(third->prepend.empty());
  EXPECT_NE(third->why_not.find("cv=fail"), std::string::npos) << third->why_not;
}

TEST(ArcForwardSeal, OnlyWhatWeCheckedIsSealed) {
  ArcForwardSealRequest request =
      request_for("mx.example.org", "example.org", "arc", &keys().first);
  std::string plain(kOriginal);
  Result<ArcForwardSeal> unchecked = seal(plain, request);
  ASSERT_TRUE(unchecked.ok());
  EXPECT_FALSE(unchecked->sealed);
  EXPECT_EQ(unchecked->why_not, "no Authentication-Results of ours");

  Result<ArcForwardSeal> theirs = seal(received_by(kOriginal, "mx.example.net"), request);
  ASSERT_TRUE(theirs.ok());
  EXPECT_FALSE(theirs->sealed);

  std::string no_arc =
      "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com\r\n" + plain;
  Result<ArcForwardSeal> without_arc = seal(no_arc, request);
  ASSERT_TRUE(without_arc.ok());
  EXPECT_FALSE(without_arc->sealed);
  EXPECT_NE(without_arc->why_not.find("arc="), std::string::npos);

  // arc=pass claimed, but the message has no ARC sets (changed since receipt, or forged).
  std::string no_chain = "Authentication-Results: mx.example.org; arc=pass\r\n" + plain;
  Result<ArcForwardSeal> mismatch = seal(no_chain, request);
  ASSERT_TRUE(mismatch.ok());
  EXPECT_FALSE(mismatch->sealed);

  // A header block that does not parse is not sealed either.
  Result<ArcForwardSeal> broken = seal(
      "Authentication-Results: mx.example.org; arc=none\r\n"
      "not a header line\r\n\r\nbody\r\n",
      request);
  ASSERT_TRUE(broken.ok());
  EXPECT_FALSE(broken->sealed);
}

TEST(ArcForwardSeal, ExtraHeadersAreCoveredAndAReadErrorIsAFailure) {
  std::string received = received_by(kOriginal, "mx.example.org");
  ArcForwardSealRequest request =
      request_for("mx.example.org", "example.org", "arc", &keys().first);
  request.options.signed_headers.push_back("Delivered-To");
  std::vector<DkimHeader> extra = {DkimHeader{"Delivered-To", " list@example.org"}};
  Result<ArcForwardSeal> sealed = arc_seal_forward_message(reader_of(received, 5), extra, request);
  ASSERT_TRUE(sealed.ok() && sealed->sealed);
  EXPECT_NE(sealed->prepend.find("delivered-to"), std::string::npos);
  std::string copy = sealed->prepend + "Delivered-To: list@example.org\r\n" + received;
  EXPECT_EQ(verify(copy).status, ArcChainStatus::kPass) << verify(copy).reason;
  // Without the Delivered-To line the AMS no longer verifies: it was signed.
  EXPECT_EQ(verify(sealed->prepend + received).status, ArcChainStatus::kFail);

  int calls = 0;
  ArcChunkReader failing = [&](const ArcChunkSink& sink) -> Status {
    if (++calls == 2) return Error::system("read", 5);
    return reader_of(received, 64)(sink);
  };
  Result<ArcForwardSeal> failed = arc_seal_forward_message(failing, {}, request);
  EXPECT_FALSE(failed.ok());
}

}  // namespace
}  // namespace postern
