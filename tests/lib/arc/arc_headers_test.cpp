// Unit tests for lib/arc/arc_headers.cpp: ARC-Seal and ARC-Message-Signature values, the AAR
// instance prefix, and gathering ARC sets with RFC 8617's structural checks, each limit at N
// (accepted) and N+1 (rejected): the instance (50/51), the number of ARC fields (150/151), a
// value's length (16384/16385 bytes).
#include "lib/arc/arc_headers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

std::string seal_value(uint32_t instance, std::string_view cv = "pass") {
  return " i=" + std::to_string(instance) + "; a=rsa-sha256; cv=" + std::string(cv) +
         "; d=example.org; s=sel; t=12345; b=AAAA";
}
std::string signature_value(uint32_t instance) {
  return " i=" + std::to_string(instance) +
         "; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel; h=from:to; bh=AAAA; b=AAAA";
}
std::string results_value(uint32_t instance) {
  return " i=" + std::to_string(instance) + "; mx.example.org; spf=pass";
}

// sets complete ARC sets, newest on top, over a From field.
std::vector<DkimHeader> chain(uint32_t sets) {
  std::vector<DkimHeader> headers;
  for (uint32_t instance = sets; instance >= 1; --instance) {
    headers.push_back({"ARC-Seal", seal_value(instance)});
    headers.push_back({"ARC-Message-Signature", signature_value(instance)});
    headers.push_back({"ARC-Authentication-Results", results_value(instance)});
  }
  headers.push_back({"From", " a@example.org"});
  return headers;
}

TEST(ArcInstance, OneToFifty) {
  EXPECT_EQ(parse_arc_instance("1").value(), 1u);
  EXPECT_EQ(parse_arc_instance("50").value(), 50u);
  for (const char* bad : {"", "0", "51", "01", "100", "+1", "1a", "yo-mama", " 1"}) {
    EXPECT_FALSE(parse_arc_instance(bad).ok()) << bad;
  }
}

TEST(ArcResultsInstance, NeedsTheIPrefixAndSemicolon) {
  EXPECT_EQ(parse_arc_results_instance(" i=3; mx.example.org; none").value(), 3u);
  EXPECT_EQ(parse_arc_results_instance("\r\n\ti = 2 ;mx").value(), 2u);
  for (const char* bad : {" i=1 mx.example.org;", " mx.example.org; i=1;", " i=; mx", " i=0; mx",
                          " i=squanch; mx", "", " I=1; mx"}) {
    EXPECT_FALSE(parse_arc_results_instance(bad).ok()) << bad;
  }
}

TEST(ArcSeal, ParsesTheRequiredTags) {
  Result<ArcSeal> seal = parse_arc_seal(seal_value(2));
  ASSERT_TRUE(seal.ok()) << seal.error().message;
  EXPECT_EQ(seal->instance, 2u);
  EXPECT_EQ(seal->chain_status, ArcChainStatus::kPass);
  EXPECT_EQ(seal->domain, "example.org");
  EXPECT_EQ(seal->selector, "sel");
  EXPECT_EQ(seal->timestamp, 12345);
  EXPECT_EQ(seal->signature, std::string("\0\0\0", 3));
}

TEST(ArcSeal, RejectsWhatRfc8617Forbids) {
  const std::string good = seal_value(1, "none");
  ASSERT_TRUE(parse_arc_seal(good).ok());
  for (const std::string& bad : {
           good + "; h=from",  // h= in a seal
           std::string(" i=1; a=rsa-sha1; cv=none; d=example.org; s=s; b=AAAA"),
           std::string(" i=1; a=rsa-sha256; cv=Pass; d=example.org; s=s; b=AAAA"),
           std::string(" i=1; a=rsa-sha256; cv=; d=example.org; s=s; b=AAAA"),
           std::string(" i=1; a=rsa-sha256; d=example.org; s=s; b=AAAA"),      // no cv
           std::string(" a=rsa-sha256; cv=none; d=example.org; s=s; b=AAAA"),  // no i
           std::string(" i=1; a=rsa-sha256; cv=none; d=; s=s; b=AAAA"),
           std::string(" i=1; a=rsa-sha256; cv=none; d=example.org; s=s; b="),
           std::string(" i=1; a=rsa-sha256; cv=none; d=example.org; s=s; b=AAAA; t="),
           std::string(" i=1; i=1; a=rsa-sha256; cv=none; d=example.org; s=s; b=AAAA"),
       }) {
    EXPECT_FALSE(parse_arc_seal(bad).ok()) << bad;
  }
}

TEST(ArcMessageSignature, ParsesLikeDkimWithoutV) {
  Result<ArcMessageSignature> ams = parse_arc_message_signature(signature_value(1));
  ASSERT_TRUE(ams.ok()) << ams.error().message;
  EXPECT_EQ(ams->instance, 1u);
  EXPECT_EQ(ams->header_canon, DkimCanon::kRelaxed);
  EXPECT_EQ(ams->signed_headers, (std::vector<std::string>{"from", "to"}));

  Result<ArcMessageSignature> defaults =
      parse_arc_message_signature(" i=1; a=rsa-sha256; d=d.example; s=s; h=; bh=AAAA; b=AAAA");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->header_canon, DkimCanon::kSimple);
  EXPECT_EQ(defaults->body_canon, DkimCanon::kSimple);
  EXPECT_TRUE(defaults->signed_headers.empty());

  Result<ArcMessageSignature> gap = parse_arc_message_signature(
      " i=1; a=rsa-sha256; d=d.example; s=s; h=from::to; bh=AAAA; b=AAAA");
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->signed_headers, (std::vector<std::string>{"from", "to"}));

  for (const char* bad : {
           " i=1; a=rsa-sha256; d=d.example; s=s; h=from:arc-seal; bh=AAAA; b=AAAA",
           " i=1; a=rsa-sha256; d=d.example; s=s; bh=AAAA; b=AAAA",  // no h
           " i=1; a=rsa-sha256; d=d.example; s=s; h=from; b=AAAA",   // no bh
           " i=1; a=rsa-sha256; c=; d=d.example; s=s; h=from; bh=AAAA; b=AAAA",
           " i=1; a=rsa-sha256; c=relaxed/fancy; d=d.example; s=s; h=from; bh=AAAA; b=AAAA",
           " i=0; a=rsa-sha256; d=d.example; s=s; h=from; bh=AAAA; b=AAAA",
       }) {
    EXPECT_FALSE(parse_arc_message_signature(bad).ok()) << bad;
  }
}

TEST(ArcHeaderValue, LengthLimit) {
  std::string value = seal_value(1, "none");
  value.append(kMaxArcHeaderValueBytes - value.size(), ' ');
  EXPECT_TRUE(parse_arc_seal(value).ok());
  value += ' ';
  Result<ArcSeal> too_long = parse_arc_seal(value);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().kind, ErrorKind::kLimit);
}

TEST(ArcSets, NoArcFieldsIsAnEmptyChain) {
  ArcSetsGathered gathered = gather_arc_sets(chain(0));
  EXPECT_FALSE(gathered.failed);
  EXPECT_TRUE(gathered.sets.empty());
  EXPECT_EQ(gathered.highest_instance, 0u);
}

TEST(ArcSets, FiftySetsAndNotFiftyOne) {
  ArcSetsGathered fifty = gather_arc_sets(chain(kMaxArcInstances));
  ASSERT_FALSE(fifty.failed) << fifty.reason;
  ASSERT_EQ(fifty.sets.size(), kMaxArcInstances);
  for (uint32_t k = 0; k < kMaxArcInstances; ++k) EXPECT_EQ(fifty.sets[k].instance, k + 1);
  // Set 50 is on top: AS, AMS, AAR at indexes 0, 1, 2.
  EXPECT_EQ(fifty.sets.back().seal, 0u);
  EXPECT_EQ(fifty.sets.back().message_signature, 1u);
  EXPECT_EQ(fifty.sets.back().results, 2u);

  ArcSetsGathered fifty_one = gather_arc_sets(chain(kMaxArcInstances + 1));
  EXPECT_TRUE(fifty_one.failed);
  EXPECT_TRUE(fifty_one.sets.empty());
}

TEST(ArcSets, FieldCountLimit) {
  std::vector<DkimHeader> headers = chain(kMaxArcInstances);  // kMaxArcHeaderFields fields
  ASSERT_FALSE(gather_arc_sets(headers).failed);
  headers.insert(headers.begin(), DkimHeader{"ARC-Seal", seal_value(1)});
  ArcSetsGathered gathered = gather_arc_sets(headers);
  EXPECT_TRUE(gathered.failed);
  EXPECT_EQ(gathered.reason, "too many ARC header fields");
  EXPECT_EQ(gathered.highest_instance, kMaxArcInstances);
}

TEST(ArcSets, StructuralFailures) {
  struct Case {
    const char* what;
    std::vector<DkimHeader> headers;
  };
  std::vector<DkimHeader> gap = chain(3);
  gap.erase(gap.begin() + 3, gap.begin() + 6);  // set 2 gone
  std::vector<DkimHeader> duplicate = chain(2);
  duplicate.push_back({"ARC-Message-Signature", signature_value(1)});
  std::vector<DkimHeader> no_results = chain(2);
  no_results.erase(no_results.begin() + 2);
  std::vector<DkimHeader> bad_instance = chain(1);
  bad_instance[0].value = " i=zero; a=rsa-sha256; cv=none; d=example.org; s=s; b=AAAA";
  std::vector<DkimHeader> no_instance = chain(1);
  no_instance[1].value = " a=rsa-sha256; d=d.example; s=s; h=from; bh=AAAA; b=AAAA";
  std::vector<DkimHeader> results_prefix = chain(1);
  results_prefix[2].value = " mx.example.org; i=1; none";
  for (const Case& c : {Case{"gap", gap}, Case{"duplicate", duplicate}, Case{"no AAR", no_results},
                        Case{"bad i=", bad_instance}, Case{"no i=", no_instance},
                        Case{"AAR prefix", results_prefix}}) {
    ArcSetsGathered gathered = gather_arc_sets(c.headers);
    EXPECT_TRUE(gathered.failed) << c.what;
    EXPECT_FALSE(gathered.reason.empty()) << c.what;
    EXPECT_TRUE(gathered.sets.empty()) << c.what;
  }
  EXPECT_EQ(gather_arc_sets(gap).highest_instance, 3u);
}

TEST(ArcSets, NamesAreCaseInsensitive) {
  std::vector<DkimHeader> headers = chain(1);
  headers[0].name = "ARC-SEAL";
  headers[1].name = "arc-message-signature";
  ArcSetsGathered gathered = gather_arc_sets(headers);
  ASSERT_FALSE(gathered.failed) << gathered.reason;
  EXPECT_EQ(gathered.sets.size(), 1u);
}

TEST(ArcSealHashInput, RelaxedInSetOrderWithoutFinalCrlf) {
  DkimHeader results{"ARC-Authentication-Results", " i=1;  mx.example.org;\r\n\tnone"};
  DkimHeader signature{"ARC-Message-Signature", " i=1; b=x"};
  EXPECT_EQ(arc_seal_hash_input({&results, &signature}, " i=1;  cv=none; b="),
            "arc-authentication-results:i=1; mx.example.org; none\r\n"
            "arc-message-signature:i=1; b=x\r\n"
            "arc-seal:i=1; cv=none; b=");
}

}  // namespace
}  // namespace postern
