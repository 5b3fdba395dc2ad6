// Unit tests for lib/dmarc/dmarc_evaluator.cpp over zone data (ZoneDns): policy discovery at
// the From: domain and at its organizational domain, several records, DNS failures, records
// without a valid policy (with and without rua=), identifier alignment (SPF and DKIM, relaxed
// and strict, pass and non-pass results), the policy that applies (p, sp, np with RFC 9091's
// NXDOMAIN test), pct sampling at 0, 50 and 100 with the injected random value, the
// disposition, one DNS batch per message, the Authentication-Results clause, and OpenDMARC's
// 10 alignment vectors (its 13 From: vectors are counted and said to be out of scope here).
#include "lib/dmarc/dmarc_evaluator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "lib/authres/authres_parser.hpp"
#include "lib/net/dns_message.hpp"
#include "tests/lib/dmarc/opendmarc_vectors.hpp"
#include "tests/lib/dmarc/zone_dns.hpp"

namespace postern {
namespace {

DmarcRequest request(std::string from, DmarcAuthResult spf_result, std::string spf_domain,
                     std::vector<DmarcDkimInput> dkim = {}) {
  DmarcRequest out;
  out.from_domain = std::move(from);
  out.spf = {spf_result, std::move(spf_domain)};
  out.dkim = std::move(dkim);
  return out;
}

constexpr DmarcAuthResult kPass = DmarcAuthResult::kPass;
constexpr DmarcAuthResult kFail = DmarcAuthResult::kFail;

class DmarcEvaluator : public ::testing::Test {
 protected:
  void SetUp() override {
    zone.add("example.org", kDnsTypeA, "192.0.2.1");
    zone.add("mail.example.org", kDnsTypeMx, "mx.example.org");
    zone.add("_dmarc.example.org", kDnsTypeTxt, "v=DMARC1; p=reject; rua=mailto:d@example.org");
    zone.add("_dmarc.example.org", kDnsTypeTxt, "v=spf1 -all");  // not DMARC: dropped
  }
  ZoneDns zone;
};

TEST_F(DmarcEvaluator, SpfAlignedPass) {
  DmarcResult result = evaluate_dmarc(zone, request("example.org", kPass, "example.org"));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);
  EXPECT_TRUE(result.spf_aligned);
  EXPECT_FALSE(result.dkim_aligned);
  EXPECT_EQ(result.policy_domain, "example.org");
  EXPECT_EQ(result.policy, DmarcPolicy::kReject);
  EXPECT_EQ(result.disposition, DmarcPolicy::kNone);
  EXPECT_EQ(zone.batches, 1);
  EXPECT_EQ(zone.asked.size(), 1u);  // the From: domain is its own organizational domain
}

TEST_F(DmarcEvaluator, DkimAlignedPassWhenSpfFails) {
  DmarcResult result = evaluate_dmarc(
      zone, request("example.org", kFail, "example.org",
                    {{kFail, "example.org"}, {kPass, "other.example"}, {kPass, "example.org"}}));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);
  EXPECT_FALSE(result.spf_aligned);
  EXPECT_TRUE(result.dkim_aligned);
}

TEST_F(DmarcEvaluator, UnalignedPassesFailAndReject) {
  DmarcResult result = evaluate_dmarc(
      zone, request("example.org", kPass, "evil.example", {{kPass, "evil.example"}}));
  EXPECT_EQ(result.outcome, DmarcOutcome::kFail);
  EXPECT_EQ(result.disposition, DmarcPolicy::kReject);
  EXPECT_EQ(dmarc_resinfo(result), "dmarc=fail (p=reject dis=REJECT) header.from=example.org");
}

TEST_F(DmarcEvaluator, OnlyPassCounts) {
  for (DmarcAuthResult other :
       {DmarcAuthResult::kNone, DmarcAuthResult::kFail, DmarcAuthResult::kSoftFail,
        DmarcAuthResult::kNeutral, DmarcAuthResult::kPolicy, DmarcAuthResult::kTempError,
        DmarcAuthResult::kPermError}) {
    DmarcResult result = evaluate_dmarc(
        zone, request("example.org", other, "example.org", {{other, "example.org"}}));
    EXPECT_EQ(result.outcome, DmarcOutcome::kFail);
  }
}

TEST_F(DmarcEvaluator, RelaxedAlignmentAcceptsTheSameOrganizationalDomain) {
  DmarcResult result = evaluate_dmarc(
      zone, request("example.org", kPass, "bounces.example.org", {{kPass, "s.example.org"}}));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);
  EXPECT_TRUE(result.spf_aligned);
  EXPECT_TRUE(result.dkim_aligned);
}

TEST_F(DmarcEvaluator, StrictAlignmentNeedsTheSameName) {
  zone.add("_dmarc.strict.example", kDnsTypeTxt, "v=DMARC1; p=quarantine; adkim=s; aspf=s");
  DmarcResult result = evaluate_dmarc(
      zone,
      request("strict.example", kPass, "bounces.strict.example", {{kPass, "s.strict.example"}}));
  EXPECT_EQ(result.outcome, DmarcOutcome::kFail);
  EXPECT_EQ(result.disposition, DmarcPolicy::kQuarantine);
  result = evaluate_dmarc(zone, request("strict.example", kPass, "STRICT.example."));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);
  EXPECT_TRUE(result.spf_aligned);
  result = evaluate_dmarc(
      zone, request("strict.example", kFail, "x.example", {{kPass, "strict.example"}}));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);
  EXPECT_TRUE(result.dkim_aligned);
}

TEST_F(DmarcEvaluator, StrictSpfRelaxedDkim) {
  zone.add("_dmarc.mixed.example", kDnsTypeTxt, "v=DMARC1; p=reject; aspf=s");
  DmarcResult spf_only = evaluate_dmarc(zone, request("mixed.example", kPass, "a.mixed.example"));
  EXPECT_EQ(spf_only.outcome, DmarcOutcome::kFail);
  DmarcResult dkim_only =
      evaluate_dmarc(zone, request("mixed.example", kFail, "", {{kPass, "a.mixed.example"}}));
  EXPECT_EQ(dkim_only.outcome, DmarcOutcome::kPass);
}

TEST_F(DmarcEvaluator, SubdomainUsesOrganizationalPolicyAndSp) {
  zone.add("_dmarc.sp.example", kDnsTypeTxt, "v=DMARC1; p=reject; sp=quarantine");
  zone.add("news.sp.example", kDnsTypeA, "192.0.2.2");
  DmarcResult result = evaluate_dmarc(zone, request("news.sp.example", kPass, "other.example"));
  EXPECT_EQ(result.outcome, DmarcOutcome::kFail);
  EXPECT_EQ(result.policy_domain, "sp.example");
  EXPECT_EQ(result.from_domain, "news.sp.example");
  EXPECT_EQ(result.policy_source, DmarcPolicySource::kSp);
  EXPECT_EQ(result.disposition, DmarcPolicy::kQuarantine);
  EXPECT_EQ(zone.batches, 1);
  EXPECT_EQ(zone.asked.size(), 5u);  // two _dmarc TXT, A, AAAA, MX
  // header.from is the From: domain, not the policy domain.
  EXPECT_EQ(dmarc_resinfo(result),
            "dmarc=fail (p=reject sp=quarantine dis=QUARANTINE) header.from=news.sp.example");
}

TEST_F(DmarcEvaluator, SubdomainWithoutSpUsesP) {
  DmarcResult result = evaluate_dmarc(zone, request("mail.example.org", kFail, "mail.example.org"));
  EXPECT_EQ(result.policy_domain, "example.org");
  EXPECT_EQ(result.policy_source, DmarcPolicySource::kP);
  EXPECT_EQ(result.disposition, DmarcPolicy::kReject);
}

TEST_F(DmarcEvaluator, SubdomainsOwnRecordWins) {
  zone.add("_dmarc.lists.example.org", kDnsTypeTxt, "v=DMARC1; p=none");
  DmarcResult result =
      evaluate_dmarc(zone, request("lists.example.org", kFail, "lists.example.org"));
  EXPECT_EQ(result.policy_domain, "lists.example.org");
  EXPECT_EQ(result.policy, DmarcPolicy::kNone);
  EXPECT_EQ(result.disposition, DmarcPolicy::kNone);
  EXPECT_EQ(result.outcome, DmarcOutcome::kFail);
}

TEST_F(DmarcEvaluator, NpForANonExistentSubdomain) {
  zone.add("_dmarc.np.example", kDnsTypeTxt, "v=DMARC1; p=none; sp=quarantine; np=reject");
  zone.add("real.np.example", kDnsTypeMx, "mx.np.example");
  DmarcResult missing = evaluate_dmarc(zone, request("ghost.np.example", kFail, ""));
  EXPECT_EQ(missing.policy_source, DmarcPolicySource::kNp);
  EXPECT_EQ(missing.disposition, DmarcPolicy::kReject);
  EXPECT_EQ(dmarc_resinfo(missing),
            "dmarc=fail (p=none np=reject dis=REJECT) header.from=ghost.np.example");
  DmarcResult existing = evaluate_dmarc(zone, request("real.np.example", kFail, ""));
  EXPECT_EQ(existing.policy_source, DmarcPolicySource::kSp);
  EXPECT_EQ(existing.disposition, DmarcPolicy::kQuarantine);
  // A DNS failure for the existence check proves nothing: np does not apply.
  zone.fail("flaky.np.example");
  DmarcResult flaky = evaluate_dmarc(zone, request("flaky.np.example", kFail, ""));
  EXPECT_EQ(flaky.policy_source, DmarcPolicySource::kSp);
}

TEST_F(DmarcEvaluator, NonExistentSubdomainWithoutNpUsesSpThenP) {
  zone.add("_dmarc.nonp.example", kDnsTypeTxt, "v=DMARC1; p=reject; sp=quarantine");
  DmarcResult result = evaluate_dmarc(zone, request("ghost.nonp.example", kFail, ""));
  EXPECT_EQ(result.policy_source, DmarcPolicySource::kSp);
  EXPECT_EQ(result.disposition, DmarcPolicy::kQuarantine);
}

TEST_F(DmarcEvaluator, PctSampling) {
  zone.add("_dmarc.pct0.example", kDnsTypeTxt, "v=DMARC1; p=reject; pct=0");
  zone.add("_dmarc.pct50.example", kDnsTypeTxt, "v=DMARC1; p=quarantine; pct=50");
  zone.add("_dmarc.pct100.example", kDnsTypeTxt, "v=DMARC1; p=reject; pct=100");
  auto disposition = [&](const char* from, int random) {
    DmarcRequest req = request(from, kFail, "");
    req.random_percent = random;
    return evaluate_dmarc(zone, req).disposition;
  };
  EXPECT_EQ(disposition("pct0.example", 0), DmarcPolicy::kQuarantine);  // reject, one step down
  EXPECT_EQ(disposition("pct0.example", 99), DmarcPolicy::kQuarantine);
  EXPECT_EQ(disposition("pct50.example", 0), DmarcPolicy::kQuarantine);
  EXPECT_EQ(disposition("pct50.example", 49), DmarcPolicy::kQuarantine);
  EXPECT_EQ(disposition("pct50.example", 50), DmarcPolicy::kNone);  // quarantine -> none
  EXPECT_EQ(disposition("pct50.example", 99), DmarcPolicy::kNone);
  EXPECT_EQ(disposition("pct100.example", 99), DmarcPolicy::kReject);
  // Out of range values are clamped to [0, 100): pct=100 still samples every message.
  EXPECT_EQ(disposition("pct100.example", 100), DmarcPolicy::kReject);
  EXPECT_EQ(disposition("pct0.example", -5), DmarcPolicy::kQuarantine);
  DmarcRequest req = request("pct50.example", kFail, "");
  req.random_percent = 70;
  DmarcResult result = evaluate_dmarc(zone, req);
  EXPECT_FALSE(result.sampled);
  EXPECT_EQ(result.policy, DmarcPolicy::kQuarantine);
  EXPECT_EQ(dmarc_resinfo(result), "dmarc=fail (p=quarantine dis=NONE) header.from=pct50.example");
}

TEST_F(DmarcEvaluator, NoRecordIsNone) {
  zone.add("norecord.example", kDnsTypeA, "192.0.2.3");
  DmarcResult result = evaluate_dmarc(zone, request("sub.norecord.example", kFail, ""));
  EXPECT_EQ(result.outcome, DmarcOutcome::kNone);
  EXPECT_EQ(result.disposition, DmarcPolicy::kNone);
  EXPECT_TRUE(result.policy_domain.empty());
  EXPECT_EQ(dmarc_resinfo(result), "dmarc=none header.from=sub.norecord.example");
}

TEST_F(DmarcEvaluator, SeveralRecordsIsNoneWithoutFallingBack) {
  zone.add("_dmarc.two.example.org", kDnsTypeTxt, "v=DMARC1; p=none");
  zone.add("_dmarc.two.example.org", kDnsTypeTxt, "v=DMARC1; p=reject");
  DmarcResult result = evaluate_dmarc(zone, request("two.example.org", kFail, ""));
  EXPECT_EQ(result.outcome, DmarcOutcome::kNone);
  EXPECT_NE(result.reason.find("several"), std::string::npos);
}

TEST_F(DmarcEvaluator, TempErrorOnDnsFailure) {
  zone.fail("_dmarc.example.org");
  DmarcResult result = evaluate_dmarc(zone, request("example.org", kPass, "example.org"));
  EXPECT_EQ(result.outcome, DmarcOutcome::kTempError);
  EXPECT_EQ(result.disposition, DmarcPolicy::kNone);
  EXPECT_EQ(dmarc_resinfo(result),
            "dmarc=temperror reason=\"DNS _dmarc.example.org: timeout\" header.from=example.org");
  // The organizational domain's failure counts when the From: domain has no record ...
  result = evaluate_dmarc(zone, request("mail.example.org", kPass, "example.org"));
  EXPECT_EQ(result.outcome, DmarcOutcome::kTempError);
  // ... but not when the From: domain has its own.
  zone.add("_dmarc.own.example.org", kDnsTypeTxt, "v=DMARC1; p=none");
  result = evaluate_dmarc(zone, request("own.example.org", kPass, "own.example.org"));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);
}

TEST_F(DmarcEvaluator, InvalidPolicyWithRuaActsAsPNone) {
  zone.add("_dmarc.badp.example", kDnsTypeTxt,
           "v=DMARC1; p=bogus; sp=reject; rua=mailto:r@x.example");
  DmarcResult result = evaluate_dmarc(zone, request("badp.example", kFail, ""));
  EXPECT_EQ(result.outcome, DmarcOutcome::kFail);
  EXPECT_EQ(result.policy, DmarcPolicy::kNone);
  EXPECT_EQ(result.disposition, DmarcPolicy::kNone);
}

TEST_F(DmarcEvaluator, InvalidPolicyWithoutRuaIsNone) {
  zone.add("_dmarc.nop.example", kDnsTypeTxt, "v=DMARC1; pct=100");
  DmarcResult result = evaluate_dmarc(zone, request("nop.example", kFail, ""));
  EXPECT_EQ(result.outcome, DmarcOutcome::kNone);
}

TEST_F(DmarcEvaluator, OtherBadValueIsPermError) {
  zone.add("_dmarc.badpct.example", kDnsTypeTxt, "v=DMARC1; p=reject; pct=500");
  DmarcResult result = evaluate_dmarc(zone, request("badpct.example", kFail, ""));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPermError);
  EXPECT_EQ(result.disposition, DmarcPolicy::kNone);
  EXPECT_EQ(dmarc_resinfo(result),
            "dmarc=permerror reason=\"DMARC record at badpct.example: bad value for pct\" "
            "header.from=badpct.example");
}

TEST_F(DmarcEvaluator, MalformedFromDomainIsPermErrorAndQuotedInTheHeader) {
  DmarcResult result = evaluate_dmarc(zone, request("bad..example\r\nX: y", kPass, ""));
  EXPECT_EQ(result.outcome, DmarcOutcome::kPermError);
  EXPECT_EQ(zone.batches, 0);
  std::string resinfo = dmarc_resinfo(result);
  EXPECT_EQ(resinfo.find('\r'), std::string::npos);
  EXPECT_TRUE(parse_auth_results("mx; " + resinfo).ok()) << resinfo;
}

TEST_F(DmarcEvaluator, ImplicitStarRuleForTestDomains) {
  zone.add("_dmarc.good.test", kDnsTypeTxt, "v=DMARC1; p=reject; sp=quarantine");
  zone.add("mail.good.test", kDnsTypeA, "192.0.2.4");
  DmarcResult result =
      evaluate_dmarc(zone, request("mail.good.test", kFail, "", {{kPass, "signer.good.test"}}));
  EXPECT_EQ(result.policy_domain, "good.test");
  EXPECT_EQ(result.outcome, DmarcOutcome::kPass);  // relaxed: same organizational domain
  EXPECT_TRUE(result.dkim_aligned);
}

TEST_F(DmarcEvaluator, LongFromDomainSkipsItsOwnQuery) {
  // _dmarc.<name> would pass 255 bytes: only the organizational domain is asked.
  std::string label(63, 'a');
  std::string from =
      label + "." + label + "." + label + "." + std::string(45, 'b') + ".example.org";
  ASSERT_TRUE(check_dns_name(from).ok());
  DmarcResult result = evaluate_dmarc(zone, request(from, kFail, ""));
  EXPECT_EQ(result.policy_domain, "example.org");
  EXPECT_EQ(result.disposition, DmarcPolicy::kReject);
  EXPECT_EQ(zone.asked.size(), 4u);
}

TEST(DmarcAlignment, Modes) {
  EXPECT_TRUE(
      dmarc_domains_aligned("example.co.uk", "mail.example.co.uk", DmarcAlignmentMode::kRelaxed));
  EXPECT_FALSE(dmarc_domains_aligned("example.co.uk", "other.co.uk", DmarcAlignmentMode::kRelaxed));
  EXPECT_FALSE(
      dmarc_domains_aligned("example.co.uk", "mail.example.co.uk", DmarcAlignmentMode::kStrict));
  EXPECT_TRUE(dmarc_domains_aligned("Example.org.", "example.ORG", DmarcAlignmentMode::kStrict));
  EXPECT_FALSE(dmarc_domains_aligned("example.org", "", DmarcAlignmentMode::kRelaxed));
  EXPECT_FALSE(dmarc_domains_aligned("", "", DmarcAlignmentMode::kStrict));
}

TEST(DmarcOutcomeNames, AllFive) {
  EXPECT_EQ(dmarc_outcome_name(DmarcOutcome::kNone), "none");
  EXPECT_EQ(dmarc_outcome_name(DmarcOutcome::kPass), "pass");
  EXPECT_EQ(dmarc_outcome_name(DmarcOutcome::kFail), "fail");
  EXPECT_EQ(dmarc_outcome_name(DmarcOutcome::kTempError), "temperror");
  EXPECT_EQ(dmarc_outcome_name(DmarcOutcome::kPermError), "permerror");
}

// alignment n=5 ".mac.com." and n=6 "....mac.com....": OpenDMARC strips leading and trailing
// dots. A leading dot or an empty label makes a name that cannot exist in DNS; we take one
// trailing dot only (the root), so these are malformed and align with nothing.
const std::map<int, std::string> kAlignmentDeviations = {
    {5, "leading dot: malformed name, not aligned"},
    {6, "leading and repeated dots: malformed name, not aligned"},
};
// from_domain (all 13): they test extracting the domain from a raw From: header value.
// lib/dmarc takes the From: domain already extracted (DmarcRequest::from_domain, one domain):
// the milter reads From: with lib/mime's address parser, which lib/dmarc may not use. They are
// counted here and belong to the milter's tests.
constexpr size_t kFromDomainVectors = 13;

TEST(OpenDmarcVectors, CountAndFromDomainGroup) {
  if (!std::filesystem::exists(opendmarc_vectors_path())) {
    GTEST_SKIP() << "shared test data absent: " << opendmarc_vectors_path();
  }
  YAML::Node root = YAML::LoadFile(opendmarc_vectors_path().string());
  size_t total = root["record_parse"].size() + root["alignment"].size() +
                 root["from_domain"].size() + root["organizational_domain"].size();
  EXPECT_EQ(total, 45u);
  EXPECT_EQ(root["from_domain"].size(), kFromDomainVectors);
}

TEST(OpenDmarcVectors, Alignment) {
  YAML::Node vectors = load_opendmarc_vectors("alignment");
  if (!vectors || vectors.IsNull()) {
    GTEST_SKIP() << "shared test data absent: " << opendmarc_vectors_path();
  }
  size_t checked = 0;
  for (const YAML::Node& vector : vectors) {
    int n = vector["n"].as<int>();
    std::string domain = vector["domain"].as<std::string>();
    std::string auth = vector["auth"].as<std::string>();
    DmarcAlignmentMode mode = vector["mode"].as<std::string>() == "strict"
                                  ? DmarcAlignmentMode::kStrict
                                  : DmarcAlignmentMode::kRelaxed;
    bool aligned = dmarc_domains_aligned(domain, auth, mode);
    if (kAlignmentDeviations.count(n)) {
      EXPECT_FALSE(aligned) << "n=" << n;
      continue;
    }
    EXPECT_EQ(aligned, vector["expect"].as<std::string>() == "aligned")
        << "n=" << n << " " << domain << " / " << auth;
    ++checked;
  }
  EXPECT_EQ(checked + kAlignmentDeviations.size(), 10u);
}

}  // namespace
}  // namespace postern
