// Unit tests for lib/spf/spf_record.cpp: which TXT strings are SPF records, the parse of every
// mechanism and modifier with qualifiers and CIDR lengths, each syntax rule (a bad term
// anywhere fails the whole record), every prefix of a record fed one octet longer at a time,
// and the limits at N and N+1: record octets, terms, CIDR lengths and digits, exp=/redirect=
// once each.
#include "lib/spf/spf_record.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::spf {
namespace {

TEST(SpfRecord, RecognisesVersionOneOnly) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("v=spf1 -all"));
  EXPECT_TRUE(is_spf_record("V=SpF1 ~all"));
  EXPECT_FALSE(is_spf_record("v=spf10"));
  EXPECT_FALSE(is_spf_record("v=spf1mx"));
  EXPECT_FALSE(is_spf_record("v=spf2.0/pra"));
  EXPECT_FALSE(is_spf_record(" v=spf1"));
  EXPECT_FALSE(is_spf_record(""));
  EXPECT_FALSE(is_spf_record("google-site-verification=abc"));
}

TEST(SpfRecord, ParsesEveryTerm) {
  Result<SpfRecord> record = parse_spf_record(
      "v=spf1 +a -mx:mail.example.com/24//64 ~ptr ?ip4:192.0.2.0/24 ip6:2001:db8::/32 "
      "include:_spf.example.net exists:%{ir}.bl.example.org A:%{d}/30 "
      "exp=explain.%{d} redirect=other.example.com future=%{l}x -ALL");
  ASSERT_TRUE(record.ok()) << record.error().message;
  const auto& m = record->mechanisms;
  ASSERT_EQ(m.size(), 9u);
  EXPECT_EQ(m[0].kind, SpfMechanismKind::kA);
  EXPECT_EQ(m[0].qualifier, SpfQualifier::kPass);
  EXPECT_EQ(m[0].domain_spec, "");
  EXPECT_EQ(m[0].ip4_prefix_bits, 32);
  EXPECT_EQ(m[0].ip6_prefix_bits, 128);
  EXPECT_EQ(m[1].kind, SpfMechanismKind::kMx);
  EXPECT_EQ(m[1].qualifier, SpfQualifier::kFail);
  EXPECT_EQ(m[1].domain_spec, "mail.example.com");
  EXPECT_EQ(m[1].ip4_prefix_bits, 24);
  EXPECT_EQ(m[1].ip6_prefix_bits, 64);
  EXPECT_EQ(m[1].text, "-mx:mail.example.com/24//64");
  EXPECT_EQ(m[2].kind, SpfMechanismKind::kPtr);
  EXPECT_EQ(m[2].qualifier, SpfQualifier::kSoftFail);
  EXPECT_EQ(m[3].kind, SpfMechanismKind::kIp4);
  EXPECT_EQ(m[3].qualifier, SpfQualifier::kNeutral);
  EXPECT_EQ(m[3].network, *parse_spf_ipv4("192.0.2.0"));
  EXPECT_EQ(m[3].ip4_prefix_bits, 24);
  EXPECT_EQ(m[4].kind, SpfMechanismKind::kIp6);
  EXPECT_EQ(m[4].network, *parse_spf_ipv6("2001:db8::"));
  EXPECT_EQ(m[4].ip6_prefix_bits, 32);
  EXPECT_EQ(m[5].kind, SpfMechanismKind::kInclude);
  EXPECT_EQ(m[5].domain_spec, "_spf.example.net");
  EXPECT_EQ(m[6].kind, SpfMechanismKind::kExists);
  EXPECT_EQ(m[6].domain_spec, "%{ir}.bl.example.org");
  EXPECT_EQ(m[7].kind, SpfMechanismKind::kA);
  EXPECT_EQ(m[7].domain_spec, "%{d}");
  EXPECT_EQ(m[7].ip4_prefix_bits, 30);
  EXPECT_EQ(m[8].kind, SpfMechanismKind::kAll);
  EXPECT_EQ(m[8].qualifier, SpfQualifier::kFail);
  EXPECT_EQ(record->explanation, "explain.%{d}");
  EXPECT_EQ(record->redirect, "other.example.com");
}

TEST(SpfRecord, EmptyAndSpacedRecords) {
  Result<SpfRecord> empty = parse_spf_record("v=spf1");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->mechanisms.empty());
  EXPECT_FALSE(empty->redirect);
  Result<SpfRecord> spaced = parse_spf_record("v=spf1   a    -all   ");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->mechanisms.size(), 2u);
  // A name with a colon and slashes in it, and a CIDR length after it.
  Result<SpfRecord> odd = parse_spf_record("v=spf1 a:foo:bar/baz.example.com/24");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->mechanisms[0].domain_spec, "foo:bar/baz.example.com");
  EXPECT_EQ(odd->mechanisms[0].ip4_prefix_bits, 24);
  EXPECT_TRUE(parse_spf_record("v=spf1 include:o.example.com. a:x.xn--zckzah -all").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 a:%{d}% -all").ok());
  EXPECT_TRUE(parse_spf_record("v=spf1 a:123-456.example.1-2 -all").ok());
}

TEST(SpfRecord, RejectsEachSyntaxError) {
  const char* bad[] = {
      "v=spf1 -all.",     // all takes nothing
      "v=spf1 -all:foo",  //
      "v=spf1 -all/8",    //
      "v=spf1 ptr/0",     // ptr takes no CIDR
      "v=spf1 ptr:",      // empty domain-spec
      "v=spf1 a:",        //
      "v=spf1 include",   // include needs a domain
      "v=spf1 include:x.example.com/24",
      "v=spf1 exists",                  //
      "v=spf1 exists:",                 //
      "v=spf1 ip4",                     //
      "v=spf1 ip4:1.2.3",               // no short addresses
      "v=spf1 ip4:1.2.3.4:8080",        //
      "v=spf1 ip4:1.2.3.04",            // no leading zeros
      "v=spf1 ip4:1.2.3.4//32",         // no dual CIDR on ip4
      "v=spf1 ip4:1.2.3.4/032",         //
      "v=spf1 ip6::CAFE::BABE",         //
      "v=spf1 ip6:::1//33",             //
      "v=spf1 a/24/64",                 // ip6 length needs //
      "v=spf1 a:foo-bar",               // single label
      "v=spf1 a:museum.",               //
      "v=spf1 a:abc.123",               // numeric top label
      "v=spf1 a:example.-com",          // top label starts with a dash
      "v=spf1 a:example.com:8080",      //
      "v=spf1 a:111.222.33.44",         //
      "v=spf1 mx:%{x}.example.com",     // unknown macro letter
      "v=spf1 a:%{r}.example.com",      // r only in explanations
      "v=spf1 redirect:x.example.com",  // a modifier written as a mechanism
      "v=spf1 moo.cow/far_out=man",     // '/' before '=': not a modifier name
      "v=spf1 =all",                    // empty modifier name
      "v=spf1 1up=foo",                 // modifier name starts with a digit
      "v=spf1 foo=%abc",                // unknown modifier, bad macro-string
      "v=spf1 exp=",                    //
      "v=spf1 exp=-all",                //
      "v=spf1 redirect=",               //
      "v=spf1 exp=a.example.com exp=b.example.com",
      "v=spf1 redirect=a.example.com redirect=a.example.com",
      "v=spf1 a:ctrl.example.com\rptr",  // only spaces separate terms
      "v=spf1 a:\xc3\xafgarbage.example.net",
      "v=spf1 +all moo",  // an unknown mechanism after the match still counts
  };
  for (const char* text : bad) {
    EXPECT_FALSE(parse_spf_record(text).ok()) << text;
  }
  EXPECT_FALSE(parse_spf_record(std::string("v=spf1 a:foo.example.com\0", 25)).ok());
  EXPECT_FALSE(parse_spf_record("v=spf2 -all").ok());
}

TEST(SpfRecord, ModifiersAndCase) {
  Result<SpfRecord> record =
      parse_spf_record("v=spf1 Redirect=a.example.com EXP=b.example.com moo.cow-far_out=man:dog");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->redirect, "a.example.com");
  EXPECT_EQ(record->explanation, "b.example.com");
  EXPECT_TRUE(parse_spf_record("v=spf1 default=+").ok());
  EXPECT_TRUE(parse_spf_record("v=spf1 note=").ok());
  EXPECT_TRUE(parse_spf_record("v=spf1 MX IP4:192.0.2.1 Include:x.example.com").ok());
}

TEST(SpfRecord, CidrLengthsAtTheirLimits) {
  EXPECT_TRUE(parse_spf_record("v=spf1 ip4:0.0.0.0/0").ok());
  EXPECT_TRUE(parse_spf_record("v=spf1 ip4:192.0.2.1/32").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 ip4:192.0.2.1/33").ok());
  EXPECT_TRUE(parse_spf_record("v=spf1 ip6:::1/128").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 ip6:::1/129").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 ip6:::1/0128").ok());  // kMaxSpfCidrDigits + 1
  EXPECT_TRUE(parse_spf_record("v=spf1 a/32//128 mx/0//0").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 a/33").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 a//129").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 mx/").ok());
  EXPECT_FALSE(parse_spf_record("v=spf1 mx//").ok());
}

TEST(SpfRecord, RecordOctetsAtTheLimit) {
  std::string record = "v=spf1";
  while (record.size() + 15 <= kMaxSpfRecordBytes) record += " ip4:192.0.2.1";
  record.append(kMaxSpfRecordBytes - record.size(), ' ');
  ASSERT_EQ(record.size(), kMaxSpfRecordBytes);
  ASSERT_TRUE(parse_spf_record(record).ok());
  Result<SpfRecord> over = parse_spf_record(record + " ");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(SpfRecord, TermsAtTheLimit) {
  std::string record = "v=spf1";
  for (size_t i = 0; i < kMaxSpfTerms; ++i) record += " a";
  Result<SpfRecord> at = parse_spf_record(record);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->mechanisms.size(), kMaxSpfTerms);
  Result<SpfRecord> over = parse_spf_record(record + " x=y");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(SpfRecord, EveryPrefixFedOneOctetLonger) {
  const std::string full =
      "v=spf1 a:mail.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::/32 "
      "include:_spf.%{d2} exp=why.%{d} -all";
  for (size_t length = 0; length <= full.size(); ++length) {
    std::string prefix = full.substr(0, length);
    Result<SpfRecord> record = parse_spf_record(prefix);
    bool at_term_end = length == full.size() || full[length] == ' ';
    if (length >= 6 && at_term_end) {
      EXPECT_TRUE(record.ok()) << prefix;
    }
    if (record.ok()) {
      for (const SpfMechanism& mechanism : record->mechanisms) {
        EXPECT_NE(full.find(mechanism.text), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace postern::spf
