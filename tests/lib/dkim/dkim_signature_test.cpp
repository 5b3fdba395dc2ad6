// Unit tests for lib/dkim/dkim_signature.cpp: a full DKIM-Signature parsed field by field, each
// required tag missing, each check of parse_dkim_signature, the limits at N and N+1 (names in
// h=, digits of l= t= x=, domain label and name length), and dkim-quoted-printable in i=.
#include "lib/dkim/dkim_signature.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

const std::string kGood =
    " v=1; a=rsa-sha256; c=relaxed/simple; d=Example.ORG; s=Sel1;\r\n"
    "\tt=1000; x=2000; l=42; q=dns/txt; i=alice@sub.example.org;\r\n"
    "\th=From:To : Subject; bh=AAAA; b=AQID\r\n\t BAU=";

std::string with(const std::string& tag, const std::string& value) {
  // Replaces tag's value (or appends the tag) in kGood.
  std::string text = kGood;
  size_t at = text.find(" " + tag + "=");
  if (at == std::string::npos) at = text.find("\t" + tag + "=");
  if (at == std::string::npos) return text + "; " + tag + "=" + value;
  size_t begin = at + tag.size() + 2;
  size_t end = text.find(';', begin);
  return text.replace(begin, (end == std::string::npos ? text.size() : end) - begin, value);
}

std::string without(const std::string& tag) {
  std::string text = kGood;
  size_t at = text.find(" " + tag + "=");
  if (at == std::string::npos) at = text.find("\t" + tag + "=");
  size_t end = text.find(';', at);
  return text.erase(at, end == std::string::npos ? std::string::npos : end + 1 - at);
}

TEST(DkimSignatureTest, ParsesEveryField) {
  Result<DkimSignature> parsed = parse_dkim_signature(kGood);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->algorithm, DkimAlgorithm::kRsaSha256);
  EXPECT_EQ(parsed->header_canon, DkimCanon::kRelaxed);
  EXPECT_EQ(parsed->body_canon, DkimCanon::kSimple);
  EXPECT_EQ(parsed->domain, "example.org");
  EXPECT_EQ(parsed->selector, "sel1");
  EXPECT_EQ(parsed->identity, "alice@sub.example.org");
  EXPECT_EQ(parsed->identity_domain, "sub.example.org");
  EXPECT_EQ(parsed->signed_headers, (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(parsed->body_hash, std::string(3, '\0'));
  EXPECT_EQ(parsed->signature, "\x01\x02\x03\x04\x05");
  EXPECT_EQ(parsed->signature_text, "AQIDBAU=");
  EXPECT_EQ(*parsed->body_length, 42u);
  EXPECT_EQ(*parsed->timestamp, 1000);
  EXPECT_EQ(*parsed->expiration, 2000);
  EXPECT_EQ(kGood.substr(parsed->b_raw_begin), "AQID\r\n\t BAU=");
}

TEST(DkimSignatureTest, Defaults) {
  Result<DkimSignature> parsed =
      parse_dkim_signature("v=1; a=ed25519-sha256; d=example.org; s=s; h=from; bh=AA; b=AA");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header_canon, DkimCanon::kSimple);
  EXPECT_EQ(parsed->body_canon, DkimCanon::kSimple);
  EXPECT_EQ(parsed->identity, "@example.org");
  EXPECT_FALSE(parsed->body_length || parsed->timestamp || parsed->expiration);
  EXPECT_EQ(parse_dkim_signature(with("c", "relaxed"))->body_canon, DkimCanon::kSimple);
}

TEST(DkimSignatureTest, RequiredTags) {
  for (const char* tag : {"v", "a", "b", "bh", "d", "h", "s"}) {
    Result<DkimSignature> parsed = parse_dkim_signature(without(tag));
    ASSERT_FALSE(parsed.ok()) << tag;
    EXPECT_EQ(parsed.error().message, std::string("missing tag ") + tag + "=");
  }
}

TEST(DkimSignatureTest, Checks) {
  EXPECT_FALSE(parse_dkim_signature(with("v", "2")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("v", "0.5")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("a", "rsa-md5")).ok());
  EXPECT_TRUE(parse_dkim_signature(with("a", "rsa-sha1")).ok());  // the verifier decides
  EXPECT_FALSE(parse_dkim_signature(with("c", "future")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("c", "relaxed/")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("q", "http")).ok());
  EXPECT_TRUE(parse_dkim_signature(with("q", "foo/bar:dns/txt")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("h", "to:subject")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("h", "from::to")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("i", "alice@example.org.evil")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("i", "alice@xexample.org")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("i", "no-at-sign")).ok());
  EXPECT_TRUE(parse_dkim_signature(with("i", "@EXAMPLE.org")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("d", "exa mple.org")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("d", "example..org")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("s", "a/b")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("bh", "")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("bh", "A*AA")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("b", "")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("l", "-1")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("t", "1e3")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("x", "999")).ok());  // before t=
  EXPECT_TRUE(parse_dkim_signature(with("x", "1000")).ok());
}

TEST(DkimSignatureTest, QuotedPrintableIdentity) {
  EXPECT_EQ(parse_dkim_signature(with("i", "=6Along@example.org"))->identity, "jlong@example.org");
  EXPECT_EQ(parse_dkim_signature(with("i", "jlong=40example.org"))->identity, "jlong@example.org");
  EXPECT_FALSE(parse_dkim_signature(with("i", "a=4@example.org")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("i", "a@example.org=")).ok());
  EXPECT_FALSE(parse_dkim_signature(with("i", "a=zz@example.org")).ok());
}

TEST(DkimSignatureTest, SignedHeaderCountLimit) {
  std::string names = "from";
  for (size_t i = 1; i < kMaxDkimSignedHeaders; ++i) names += ":x" + std::to_string(i);
  EXPECT_TRUE(parse_dkim_signature(with("h", names)).ok());
  Result<DkimSignature> over = parse_dkim_signature(with("h", names + ":over"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(DkimSignatureTest, DigitLimits) {
  EXPECT_TRUE(parse_dkim_signature(with("l", std::string(kMaxDkimLengthDigits, '9'))).ok());
  EXPECT_FALSE(parse_dkim_signature(with("l", std::string(kMaxDkimLengthDigits + 1, '9'))).ok());
  std::string t = std::string(kMaxDkimTimeDigits, '1');
  EXPECT_TRUE(parse_dkim_signature(with("x", t)).ok());
  EXPECT_FALSE(parse_dkim_signature(with("x", t + "1")).ok());
  const std::string base = "v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AA; b=AA; t=";
  EXPECT_TRUE(parse_dkim_signature(base + t).ok());
  Result<DkimSignature> over = parse_dkim_signature(base + t + "1");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(DkimSignatureTest, DomainLimits) {
  std::string label(63, 'a');
  EXPECT_TRUE(dkim_is_domain_text(label + ".org"));
  EXPECT_FALSE(dkim_is_domain_text(label + "a.org"));
  std::string name = label + "." + label + "." + label + "." + std::string(61, 'b');  // 253
  ASSERT_EQ(name.size(), 253u);
  EXPECT_TRUE(dkim_is_domain_text(name));
  EXPECT_FALSE(dkim_is_domain_text(name + "b"));
  EXPECT_FALSE(dkim_is_domain_text(""));
  EXPECT_FALSE(dkim_is_domain_text("a."));
  EXPECT_TRUE(dkim_is_domain_text("2023-05-ed25519._x"));
}

TEST(DkimSignatureTest, LabelsOfAnUnparsableSignature) {
  DkimSignatureLabels labels =
      dkim_signature_labels("v=2; a=rsa-sha256; d=Example.org; s=bad selector");
  EXPECT_EQ(labels.domain, "example.org");
  EXPECT_EQ(labels.selector, "");
  EXPECT_EQ(labels.algorithm, "rsa-sha256");
  EXPECT_EQ(dkim_signature_labels("garbage").domain, "");
}

TEST(DkimCanonicalizationWords, HeaderSlashBodyOrOneWord) {
  auto pair = parse_dkim_canonicalization("relaxed/simple");
  ASSERT_TRUE(pair.has_value());
  EXPECT_EQ(pair->header, DkimCanon::kRelaxed);
  EXPECT_EQ(pair->body, DkimCanon::kSimple);
  pair = parse_dkim_canonicalization("relaxed");  // RFC 6376 3.5: the body is simple
  ASSERT_TRUE(pair.has_value());
  EXPECT_EQ(pair->header, DkimCanon::kRelaxed);
  EXPECT_EQ(pair->body, DkimCanon::kSimple);
  EXPECT_FALSE(parse_dkim_canonicalization("").has_value());
  EXPECT_FALSE(parse_dkim_canonicalization("relaxed/").has_value());
  EXPECT_FALSE(parse_dkim_canonicalization("Relaxed/relaxed").has_value());
  EXPECT_FALSE(parse_dkim_canonicalization("relaxed/relaxed/simple").has_value());
}

}  // namespace
}  // namespace postern
