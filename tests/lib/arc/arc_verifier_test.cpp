// Unit tests for lib/arc/arc_verifier.cpp: the arc-test-suite's validation suite (171 cases,
// one gtest per case named scenario_case), each run over the suite's own txt_records with the
// body fed one byte at a time; the cases whose expectation we read differently from how the
// suite writes it are in kKnownExceptions (and in docs/testing.md, "ARC suite exceptions").
// Then what the suite does not cover: one DNS batch, a temporary DNS failure, the resinfo text.
#include "lib/arc/arc_verifier.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <filesystem>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "tests/lib/arc/arc_suite.hpp"

namespace postern {
namespace {

using testing::ArcSuiteZone;
using testing::kArcSuiteFolder;

struct ValidationCase {
  std::string scenario;
  std::string name;
  std::string message;
  std::string expected;  // "none", "pass", "fail", or "" as the suite writes it
  YAML::Node document;
  std::string test_name;
  std::string missing;
  std::string broken;
};

void PrintTo(const ValidationCase& c, std::ostream* out) {
  *out << c.test_name;
}

struct KnownException {
  const char* name;
  const char* expected_instead;
  const char* reason;
};

// The suite leaves cv empty for three cases whose newest or older AS says cv=fail: RFC 8617
// 5.2 step 2 makes such a chain fail, which is what we check for them. ams_fields_c_na has no
// c= but was signed with relaxed header canonicalization; an absent c= means simple/simple
// (RFC 6376 3.5, which RFC 8617 4.1.2 keeps), so the AMS does not verify and the chain fails.
constexpr KnownException kKnownExceptions[] = {
    {"ams_fields_c_na", "fail",
     "signed relaxed without c=; an absent c= means simple/simple (RFC 6376 3.5)"},
    {"cv_fail_i1_as_cv_fail", "fail", "the suite's cv is empty; an AS with cv=fail is a fail"},
    {"cv_fail_i2_as2_fail", "fail", "the suite's cv is empty; an AS with cv=fail is a fail"},
    {"cv_fail_i2_as1_fail", "fail", "the suite's cv is empty; an AS with cv=fail is a fail"},
};

const KnownException* known_exception(const ValidationCase& c) {
  for (const KnownException& exception : kKnownExceptions) {
    if (c.name == exception.name) return &exception;
  }
  return nullptr;
}

std::vector<ValidationCase> validation_cases() {
  std::vector<ValidationCase> cases;
  std::string path = kArcSuiteFolder + "/arc-draft-validation-tests.yml";
  if (!std::filesystem::is_regular_file(path)) {
    ValidationCase missing;
    missing.test_name = "suite_absent";
    missing.missing = path;
    return {missing};
  }
  try {
    std::set<std::string> names;
    for (const YAML::Node& document : YAML::LoadAllFromFile(path)) {
      std::string scenario = document["description"].as<std::string>();
      for (const auto& test : document["tests"]) {
        ValidationCase c;
        c.scenario = scenario;
        c.name = test.first.as<std::string>();
        c.message = test.second["message"].as<std::string>();
        std::string cv = test.second["cv"].as<std::string>();
        c.expected = ascii_lowercase(testing::arc_test_identifier(cv));
        c.document = document;
        std::string base =
            testing::arc_test_identifier(scenario) + "_" + testing::arc_test_identifier(c.name);
        c.test_name = base;
        // The suite repeats four case names in one scenario; the second gets a suffix.
        for (int n = 2; !names.insert(c.test_name).second; ++n) {
          c.test_name = base + "_" + std::to_string(n);
        }
        cases.push_back(std::move(c));
      }
    }
  } catch (const std::exception& error) {
    ValidationCase broken;
    broken.test_name = "suite_unreadable";
    broken.broken = error.what();
    return {broken};
  }
  return cases;
}

ArcResult verify(const testing::ArcMessage& message, DnsLookup& dns, size_t chunk = 1) {
  ArcVerifier verifier(message.headers, ArcVerifyOptions{});
  for (size_t at = 0; at < message.body.size(); at += chunk) {
    verifier.add_body(std::string_view(message.body).substr(at, chunk));
  }
  return verifier.finish(dns);
}

class ArcValidationSuite : public ::testing::TestWithParam<ValidationCase> {};

TEST_P(ArcValidationSuite, Case) {
  const ValidationCase& c = GetParam();
  if (!c.missing.empty()) GTEST_SKIP() << "the arc-test-suite is not at " << c.missing;
  ASSERT_EQ(c.broken, "") << "the arc-test-suite in " << kArcSuiteFolder << " does not load";
  ArcSuiteZone zone(c.document);
  ArcResult result = verify(testing::split_arc_message(c.message), zone);
  EXPECT_LE(zone.batches, 1);
  std::string expected = c.expected;
  if (const KnownException* exception = known_exception(c)) {
    EXPECT_NE(c.expected, exception->expected_instead) << "exception no longer needed";
    expected = exception->expected_instead;
  }
  EXPECT_EQ(std::string(arc_chain_status_name(result.status)), expected)
      << c.scenario << " / " << c.name << ": " << result.reason;
}

INSTANTIATE_TEST_SUITE_P(ArcSuite, ArcValidationSuite, ::testing::ValuesIn(validation_cases()),
                         [](const ::testing::TestParamInfo<ValidationCase>& info) {
                           return info.param.test_name;
                         });

// 171 case names; four of them are written twice in one scenario (with different messages),
// so 175 cases run.
TEST(ArcValidationSuiteSize, HasAllCases) {
  std::vector<ValidationCase> cases = validation_cases();
  if (!cases.front().missing.empty()) GTEST_SKIP() << "the arc-test-suite is absent";
  std::set<std::string> names;
  for (const ValidationCase& c : cases) names.insert(c.scenario + "/" + c.name);
  EXPECT_EQ(names.size(), 171u);
  EXPECT_EQ(cases.size(), 175u);
}

// One passing two-set chain of the suite, for the checks below.
struct PassingCase {
  testing::ArcMessage message;
  YAML::Node document;
};

std::optional<PassingCase> passing_case(const std::string& name) {
  for (const ValidationCase& c : validation_cases()) {
    if (c.name == name) return PassingCase{testing::split_arc_message(c.message), c.document};
  }
  return std::nullopt;
}

TEST(ArcVerifier, AsksEveryKeyInOneBatch) {
  std::optional<PassingCase> c = passing_case("cv_pass_i2_1");
  if (!c) GTEST_SKIP() << "the arc-test-suite is absent";
  ArcSuiteZone zone(c->document);
  ArcResult result = verify(c->message, zone, 1000);
  EXPECT_EQ(result.status, ArcChainStatus::kPass) << result.reason;
  EXPECT_EQ(result.instances, 2u);
  EXPECT_EQ(result.oldest_pass, 0u);
  EXPECT_EQ(zone.batches, 1);
  EXPECT_EQ(zone.questions_asked, 1);  // every signature uses dummy._domainkey.example.org
  EXPECT_EQ(result.resinfo("192.0.2.1"),
            "arc=pass (i=2) header.oldest-pass=0 smtp.remote-ip=192.0.2.1");
}

TEST(ArcVerifier, ChangedBodyFailsTheNewestAms) {
  std::optional<PassingCase> c = passing_case("cv_pass_i2_1");
  if (!c) GTEST_SKIP() << "the arc-test-suite is absent";
  c->message.body += "appended\r\n";
  ArcSuiteZone zone(c->document);
  ArcResult result = verify(c->message, zone);
  EXPECT_EQ(result.status, ArcChainStatus::kFail);
  EXPECT_EQ(result.reason, "AMS i=2: body hash did not verify");
  EXPECT_FALSE(result.temporary);
  EXPECT_EQ(result.resinfo(""), "arc=fail (i=2) reason=\"AMS i=2: body hash did not verify\"");
}

class FailingDns : public DnsLookup {
 public:
  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    return std::vector<DnsAnswer>(questions.size());  // kTemporary
  }
};

TEST(ArcVerifier, TemporaryKeyFailureIsMarked) {
  std::optional<PassingCase> c = passing_case("cv_pass_i1_1");
  if (!c) GTEST_SKIP() << "the arc-test-suite is absent";
  FailingDns dns;
  ArcResult result = verify(c->message, dns);
  EXPECT_EQ(result.status, ArcChainStatus::kFail);
  EXPECT_TRUE(result.temporary);
}

TEST(ArcVerifier, NoArcFieldsIsNoneWithoutDns) {
  testing::ArcMessage message = testing::split_arc_message("From: a@example.org\n\nhi\n");
  FailingDns dns;
  ArcResult result = verify(message, dns);
  EXPECT_EQ(result.status, ArcChainStatus::kNone);
  EXPECT_EQ(result.resinfo("192.0.2.1"), "arc=none");
}

TEST(ArcVerifier, NewestSealCvFailIsRemembered) {
  testing::ArcMessage message = testing::split_arc_message(
      "ARC-Seal: i=1; a=rsa-sha256; cv=fail; d=example.org; s=s; b=AAAA\n"
      "ARC-Message-Signature: i=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA\n"
      "ARC-Authentication-Results: i=1; example.org; none\n"
      "From: a@example.org\n\nhi\n");
  FailingDns dns;
  ArcResult result = verify(message, dns);
  EXPECT_EQ(result.status, ArcChainStatus::kFail);
  EXPECT_TRUE(result.newest_seal_failed);
  EXPECT_EQ(result.highest_instance, 1u);
}

}  // namespace
}  // namespace postern
