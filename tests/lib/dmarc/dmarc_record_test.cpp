// Unit tests for lib/dmarc/dmarc_record.cpp: every tag and its default, case-insensitive names
// and keywords, each way a record is unusable (empty, not DMARC, bad value, no valid policy
// with and without rua=), unknown and repeated tags, the limits at N and N+1 (record bytes,
// tags, report URIs), every prefix of a full record, and OpenDMARC's 19 record vectors.
#include "lib/dmarc/dmarc_record.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/lib/dmarc/opendmarc_vectors.hpp"

namespace postern {
namespace {

TEST(DmarcRecord, Defaults) {
  DmarcRecordParse parse = parse_dmarc_record("v=DMARC1; p=reject");
  ASSERT_TRUE(parse.ok()) << parse.detail;
  const DmarcRecord& record = parse.record;
  EXPECT_EQ(record.policy, DmarcPolicy::kReject);
  EXPECT_FALSE(record.subdomain_policy.has_value());
  EXPECT_FALSE(record.nonexistent_policy.has_value());
  EXPECT_EQ(record.dkim_alignment, DmarcAlignmentMode::kRelaxed);
  EXPECT_EQ(record.spf_alignment, DmarcAlignmentMode::kRelaxed);
  EXPECT_EQ(record.percent, 100);
  EXPECT_TRUE(record.rua.empty());
  EXPECT_EQ(record.failure_options, "0");
  EXPECT_EQ(record.report_interval_seconds, 86400u);
}

TEST(DmarcRecord, EveryTag) {
  DmarcRecordParse parse = parse_dmarc_record(
      " V = DMARC1 ;P=Quarantine; sp=reject; np=REJECT; adkim=s; aspf=S; pct=25; "
      "rua=mailto:agg@example.org!10m, mailto:agg2@example.net; ruf=mailto:f@example.org; "
      "fo=1:d:s; rf=afrf; ri=3600;");
  ASSERT_TRUE(parse.ok()) << parse.detail;
  const DmarcRecord& record = parse.record;
  EXPECT_EQ(record.policy, DmarcPolicy::kQuarantine);
  EXPECT_EQ(record.subdomain_policy, DmarcPolicy::kReject);
  EXPECT_EQ(record.nonexistent_policy, DmarcPolicy::kReject);
  EXPECT_EQ(record.dkim_alignment, DmarcAlignmentMode::kStrict);
  EXPECT_EQ(record.spf_alignment, DmarcAlignmentMode::kStrict);
  EXPECT_EQ(record.percent, 25);
  ASSERT_EQ(record.rua.size(), 2u);
  EXPECT_EQ(record.rua[0], "mailto:agg@example.org!10m");
  EXPECT_EQ(record.rua[1], "mailto:agg2@example.net");
  ASSERT_EQ(record.ruf.size(), 1u);
  EXPECT_EQ(record.failure_options, "1:d:s");
  EXPECT_EQ(record.report_interval_seconds, 3600u);
}

TEST(DmarcRecord, NotDmarc) {
  for (std::string_view text : {"v=spf1 -all", "p=reject; v=DMARC1", "v=DMARC2; p=none",
                                "v=dmarc1; p=none", "; v=DMARC1; p=none", "v; p=none", "V=BOB"}) {
    EXPECT_EQ(parse_dmarc_record(text).error, DmarcRecordError::kNotDmarc) << text;
  }
  EXPECT_EQ(parse_dmarc_record("").error, DmarcRecordError::kEmpty);
  EXPECT_EQ(parse_dmarc_record(" \t ").error, DmarcRecordError::kEmpty);
}

TEST(DmarcRecord, BadValues) {
  for (std::string_view text :
       {"v=DMARC1; p=none; adkim=x", "v=DMARC1; p=none; aspf=relaxed", "v=DMARC1; p=none; pct=101",
        "v=DMARC1; p=none; pct=-1", "v=DMARC1; p=none; pct=", "v=DMARC1; p=none; pct=5%",
        "v=DMARC1; p=none; ri=x", "v=DMARC1; p=none; ri=4294967296", "v=DMARC1; p=none; fo=2",
        "v=DMARC1; p=none; fo=", "v=DMARC1; p=none; rf=iodef", "v=DMARC1; p=none; p=reject",
        "v=DMARC1; p=none; v=DMARC1", "v=DMARC1; p=none; adkim"}) {
    DmarcRecordParse parse = parse_dmarc_record(text);
    EXPECT_EQ(parse.error, DmarcRecordError::kBadValue) << text;
    EXPECT_FALSE(parse.detail.empty());
  }
  EXPECT_TRUE(parse_dmarc_record("v=DMARC1; p=none; pct=0").ok());
  EXPECT_TRUE(parse_dmarc_record("v=DMARC1; p=none; pct=100").ok());
  EXPECT_TRUE(parse_dmarc_record("v=DMARC1; p=none; ri=4294967295").ok());
}

TEST(DmarcRecord, NoValidPolicy) {
  DmarcRecordParse missing = parse_dmarc_record("v=DMARC1; pct=100");
  EXPECT_EQ(missing.error, DmarcRecordError::kNoValidPolicy);
  EXPECT_TRUE(missing.record.rua.empty());
  DmarcRecordParse bad_p = parse_dmarc_record("v=DMARC1; p=n; rua=mailto:a@example.org");
  EXPECT_EQ(bad_p.error, DmarcRecordError::kNoValidPolicy);
  ASSERT_EQ(bad_p.record.rua.size(), 1u);
  EXPECT_EQ(bad_p.record.policy, DmarcPolicy::kNone);
  EXPECT_EQ(parse_dmarc_record("v=DMARC1; p=reject; sp=bob").error,
            DmarcRecordError::kNoValidPolicy);
  EXPECT_EQ(parse_dmarc_record("v=DMARC1; p=reject; np=").error, DmarcRecordError::kNoValidPolicy);
}

TEST(DmarcRecord, InvalidReportUrisAreDropped) {
  DmarcRecordParse parse = parse_dmarc_record(
      "v=DMARC1; p=none; rua=not a uri, :nothing, 1http:x, mailto:, mailto:ok@example.org");
  ASSERT_TRUE(parse.ok());
  ASSERT_EQ(parse.record.rua.size(), 1u);
  EXPECT_EQ(parse.record.rua[0], "mailto:ok@example.org");
}

TEST(DmarcRecord, UnknownTagsIgnored) {
  DmarcRecordParse parse = parse_dmarc_record("v=DMARC1; p=reject; foo=bar; x; =y; ;;");
  EXPECT_EQ(parse.error, DmarcRecordError::kBadValue);  // "x" has no '=' ...
  parse = parse_dmarc_record("v=DMARC1; p=reject; foo=bar; buzz=happy; ;;");
  EXPECT_TRUE(parse.ok());  // ... but unknown tags with values are fine
  EXPECT_EQ(parse.record.policy, DmarcPolicy::kReject);
}

TEST(DmarcRecord, RecordLengthLimit) {
  std::string head = "v=DMARC1; p=reject; x=";
  std::string at_limit = head + std::string(kMaxDmarcRecordBytes - head.size(), 'a');
  ASSERT_EQ(at_limit.size(), kMaxDmarcRecordBytes);
  EXPECT_TRUE(parse_dmarc_record(at_limit).ok());
  EXPECT_EQ(parse_dmarc_record(at_limit + "a").error, DmarcRecordError::kLimit);
  // A long TXT record that is not DMARC stays "not DMARC", so discovery drops it.
  EXPECT_EQ(parse_dmarc_record("v=spf1 " + std::string(kMaxDmarcRecordBytes, 'a')).error,
            DmarcRecordError::kNotDmarc);
}

TEST(DmarcRecord, TagCountLimit) {
  auto record = [](size_t tags) {
    std::string text = "v=DMARC1; p=none";
    for (size_t i = 2; i < tags; ++i) text += "; x" + std::to_string(i) + "=1";
    return text;
  };
  EXPECT_TRUE(parse_dmarc_record(record(kMaxDmarcTags)).ok());
  EXPECT_EQ(parse_dmarc_record(record(kMaxDmarcTags + 1)).error, DmarcRecordError::kLimit);
}

TEST(DmarcRecord, ReportUriLimit) {
  auto record = [](size_t uris) {
    std::string text = "v=DMARC1; p=none; rua=";
    for (size_t i = 0; i < uris; ++i) text += (i ? "," : "") + std::string("mailto:a@b.example");
    return text;
  };
  DmarcRecordParse at_limit = parse_dmarc_record(record(kMaxDmarcReportUris));
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit.record.rua.size(), kMaxDmarcReportUris);
  EXPECT_EQ(parse_dmarc_record(record(kMaxDmarcReportUris + 1)).error, DmarcRecordError::kLimit);
}

TEST(DmarcRecord, EveryPrefix) {
  std::string text = "v=DMARC1; p=reject; sp=none; adkim=s; pct=50; rua=mailto:a@b.example";
  for (size_t length = 0; length <= text.size(); ++length) {
    DmarcRecordParse parse = parse_dmarc_record(text.substr(0, length));
    if (length < 8) {
      EXPECT_FALSE(parse.ok()) << length;
    } else if (parse.ok()) {
      // Once p=reject is complete, the prefix is a usable record with what it has so far.
      EXPECT_EQ(parse.record.policy, DmarcPolicy::kReject) << length;
    }
  }
  EXPECT_TRUE(parse_dmarc_record(text).ok());
}

TEST(DmarcRecord, PolicyNames) {
  EXPECT_EQ(dmarc_policy_name(DmarcPolicy::kNone), "none");
  EXPECT_EQ(dmarc_policy_name(DmarcPolicy::kQuarantine), "quarantine");
  EXPECT_EQ(dmarc_policy_name(DmarcPolicy::kReject), "reject");
}

// record_parse n=5 "p=n": OpenDMARC takes a prefix of "none"; the RFC 7489 6.4 grammar does
// not, so for us p= is invalid: no valid policy (and no rua=, so no DMARC processing).
const std::map<int, std::string> kRecordDeviations = {
    {5, "p=n is not a policy in RFC 7489's grammar: kNoValidPolicy"},
};
DmarcRecordError expected_record_error(const std::string& expect, const DmarcRecordParse& got) {
  if (expect == "ok") return DmarcRecordError::kNone;
  if (expect == "error_empty") return DmarcRecordError::kEmpty;
  if (expect == "error_bad_version") return DmarcRecordError::kNotDmarc;
  if (expect == "error_no_required_p") return DmarcRecordError::kNoValidPolicy;
  if (expect == "error_bad_value") {
    // RFC 7489 6.6.3 step 6 treats a bad p= or sp= apart from other bad values: such a record
    // gives kNoValidPolicy; any other tag kBadValue.
    return got.detail == "bad value for p" || got.detail == "bad value for sp or np"
               ? DmarcRecordError::kNoValidPolicy
               : DmarcRecordError::kBadValue;
  }
  ADD_FAILURE() << "unknown expectation " << expect;
  return DmarcRecordError::kNone;
}

TEST(OpenDmarcVectors, RecordParse) {
  YAML::Node vectors = load_opendmarc_vectors("record_parse");
  if (!vectors || vectors.IsNull()) {
    GTEST_SKIP() << "shared test data absent: " << opendmarc_vectors_path();
  }
  size_t checked = 0;
  for (const YAML::Node& vector : vectors) {
    int n = vector["n"].as<int>();
    std::string record = vector["record"].as<std::string>();
    std::string expect = vector["expect"].as<std::string>();
    DmarcRecordParse got = parse_dmarc_record(record);
    if (kRecordDeviations.count(n)) {
      EXPECT_EQ(got.error, DmarcRecordError::kNoValidPolicy) << "n=" << n;
      continue;
    }
    EXPECT_EQ(got.error, expected_record_error(expect, got))
        << "n=" << n << " record=" << record << " detail=" << got.detail;
    ++checked;
  }
  EXPECT_EQ(checked + kRecordDeviations.size(), 19u);
}

}  // namespace
}  // namespace postern
