// Unit tests for lib/arc/arc_sealer.cpp: the arc-test-suite's signing suite (17 cases, one
// gtest per case named scenario_case). Each message's chain is first validated by our verifier
// over the suite's txt-records; the Authentication-Results of the suite's srv-id are
// consolidated as its schema describes (every clause of every such header, in order); then the
// set is sealed unfolded and compared byte for byte with the suite's AAR, AMS and AS brought
// to the schema's standard form (no whitespace but one space after each ';'), and sealed again
// folded, added to the message, and validated by our verifier. Every case passes as written.
// Then the
// sealing rules the suite does not cover: 50 sets and no 51st, a failed chain sealed over its
// own set only.
#include "lib/arc/arc_sealer.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "lib/arc/arc_verifier.hpp"
#include "lib/authres/authres_parser.hpp"
#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_crypto.hpp"
#include "lib/dkim/dkim_private_key.hpp"
#include "tests/lib/arc/arc_suite.hpp"

namespace postern {
namespace {

using testing::ArcMessage;
using testing::ArcSuiteZone;
using testing::kArcSuiteFolder;

struct SigningCase {
  std::string scenario;
  std::string name;
  std::string message;
  int64_t timestamp = 0;
  std::string signed_headers;
  std::string authserv_id;
  std::string seal, message_signature, results;  // expected; empty: nothing may be sealed
  YAML::Node document;
  std::string test_name;
  std::string missing;
  std::string broken;
};

void PrintTo(const SigningCase& c, std::ostream* out) {
  *out << c.test_name;
}

std::string text_of(const YAML::Node& node) {
  return node ? node.as<std::string>() : std::string();
}

std::vector<SigningCase> signing_cases() {
  std::string path = kArcSuiteFolder + "/arc-draft-sign-tests.yml";
  if (!std::filesystem::is_regular_file(path)) {
    SigningCase missing;
    missing.test_name = "suite_absent";
    missing.missing = path;
    return {missing};
  }
  std::vector<SigningCase> cases;
  try {
    for (const YAML::Node& document : YAML::LoadAllFromFile(path)) {
      std::string scenario = document["description"].as<std::string>();
      for (const auto& test : document["tests"]) {
        const YAML::Node& fields = test.second;
        SigningCase c;
        c.scenario = scenario;
        c.name = test.first.as<std::string>();
        c.message = fields["message"].as<std::string>();
        c.timestamp = fields["t"].as<int64_t>();
        c.signed_headers = fields["sig-headers"].as<std::string>();
        c.authserv_id = fields["srv-id"].as<std::string>();
        c.seal = text_of(fields["AS"]);
        c.message_signature = text_of(fields["AMS"]);
        c.results = text_of(fields["AAR"]);
        c.document = document;
        c.test_name =
            testing::arc_test_identifier(scenario) + "_" + testing::arc_test_identifier(c.name);
        cases.push_back(std::move(c));
      }
    }
  } catch (const std::exception& error) {
    SigningCase broken;
    broken.test_name = "suite_unreadable";
    broken.broken = error.what();
    return {broken};
  }
  return cases;
}

// The schema's standard form of a signature value: no whitespace, one space after each ';',
// no ';' at the end.
std::string standard_signature(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    out += c;
    if (c == ';') out += ' ';
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

// Whitespace runs as one space, none at either end (an AAR's clauses keep their inner spaces).
std::string collapse_space(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The clauses of an Authentication-Results value, split at the ';' outside comments and
// quoted strings; the first is the authserv-id.
std::vector<std::string> clauses(std::string_view value) {
  std::vector<std::string> out(1);
  int depth = 0;
  bool quoted = false;
  for (size_t at = 0; at < value.size(); ++at) {
    char c = value[at];
    if (quoted) {
      if (c == '\\' && at + 1 < value.size()) out.back() += value[at++];
      if (c == '"') quoted = false;
    } else if (c == '"' && depth == 0) {
      quoted = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (c == ';' && depth == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += c;
  }
  for (std::string& clause : out) clause = collapse_space(clause);
  return out;
}

// The schema's AR consolidation: every clause of every Authentication-Results of authserv_id.
std::vector<std::string> consolidated_resinfos(const ArcMessage& message,
                                               std::string_view authserv_id) {
  std::vector<std::string> resinfos;
  for (const DkimHeader& header : message.headers) {
    if (!ascii_iequals(header.name, "Authentication-Results")) continue;
    std::vector<std::string> parts = clauses(header.value);
    if (!ascii_iequals(parts.front(), authserv_id)) continue;
    for (size_t k = 1; k < parts.size(); ++k) {
      if (!parts[k].empty()) resinfos.push_back(parts[k]);
    }
  }
  return resinfos;
}

std::vector<std::string> colon_list(const std::string& text) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t colon = text.find(':', start);
    if (colon == std::string::npos) colon = text.size();
    names.push_back(text.substr(start, colon - start));
    start = colon + 1;
  }
  return names;
}

ArcResult validate(const ArcMessage& message, DnsLookup& dns) {
  ArcVerifier verifier(message.headers, ArcVerifyOptions{});
  verifier.add_body(message.body);
  return verifier.finish(dns);
}

Result<ArcSetValues> seal(const ArcMessage& message, const ArcSealingKey& key,
                          const ArcSealOptions& options, std::string_view authserv_id,
                          const std::vector<std::string>& resinfos, const ArcResult& chain,
                          size_t chunk = 1) {
  ArcSealer sealer(key, options);
  for (size_t at = 0; at < message.body.size(); at += chunk) {
    sealer.add_body(std::string_view(message.body).substr(at, chunk));
  }
  return sealer.finish(message.headers, authserv_id, resinfos, chain);
}

ArcMessage with_set(ArcMessage message, const ArcSetValues& set) {
  std::vector<DkimHeader> fields = set.fields();
  message.headers.insert(message.headers.begin(), fields.begin(), fields.end());
  return message;
}

class ArcSigningSuite : public ::testing::TestWithParam<SigningCase> {};

TEST_P(ArcSigningSuite, Case) {
  const SigningCase& c = GetParam();
  if (!c.missing.empty()) GTEST_SKIP() << "the arc-test-suite is not at " << c.missing;
  ASSERT_EQ(c.broken, "") << "the arc-test-suite in " << kArcSuiteFolder << " does not load";
  Result<DkimPrivateKey> key = load_dkim_private_key(c.document["privatekey"].as<std::string>());
  ASSERT_TRUE(key.ok()) << key.error().message;
  ArcSealingKey sealing_key{c.document["domain"].as<std::string>(),
                            c.document["sel"].as<std::string>(), &*key};
  ArcSuiteZone zone(c.document);
  ArcMessage message = testing::split_arc_message(c.message);
  ArcResult chain = validate(message, zone);
  std::vector<std::string> resinfos = consolidated_resinfos(message, c.authserv_id);
  ArcSealOptions options;
  options.timestamp = c.timestamp;
  options.signed_headers = colon_list(c.signed_headers);
  options.fold = false;

  Result<ArcSetValues> set = seal(message, sealing_key, options, c.authserv_id, resinfos, chain);
  if (collapse_space(c.seal).empty()) {
    ASSERT_FALSE(set.ok()) << "sealed a chain the suite wants left alone";
    EXPECT_EQ(set.error().kind, ErrorKind::kPermanent);
    EXPECT_TRUE(chain.newest_seal_failed);
    return;
  }
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(standard_signature(set->message_signature), standard_signature(c.message_signature));
  EXPECT_EQ(collapse_space(set->authentication_results), collapse_space(c.results));
  EXPECT_EQ(standard_signature(set->seal), standard_signature(c.seal));

  // Folded, the set must verify on the message: the chain passes, or for a chain that had
  // failed, ends in our cv=fail.
  options.fold = true;
  Result<ArcSetValues> folded =
      seal(message, sealing_key, options, c.authserv_id, resinfos, chain, 1000);
  ASSERT_TRUE(folded.ok()) << folded.error().message;
  for (const DkimHeader& field : folded->fields()) {
    std::string line_text = field.name + ":" + field.value;  // as the field is written
    size_t line_start = 0;
    for (size_t at = 0; at <= line_text.size(); ++at) {
      if (at == line_text.size() || line_text.compare(at, 2, "\r\n") == 0) {
        EXPECT_LT(at - line_start, kArcFoldColumns) << line_text;
        line_start = at + 2;
      }
    }
  }
  ArcResult after = validate(with_set(message, *folded), zone);
  if (chain.status == ArcChainStatus::kFail) {
    EXPECT_EQ(after.status, ArcChainStatus::kFail);
    EXPECT_TRUE(after.newest_seal_failed);
  } else {
    EXPECT_EQ(after.status, ArcChainStatus::kPass) << after.reason;
    EXPECT_EQ(after.instances, folded->instance);
  }
}

INSTANTIATE_TEST_SUITE_P(ArcSuite, ArcSigningSuite, ::testing::ValuesIn(signing_cases()),
                         [](const ::testing::TestParamInfo<SigningCase>& info) {
                           return info.param.test_name;
                         });

TEST(ArcSigningSuiteSize, HasAllCases) {
  std::vector<SigningCase> cases = signing_cases();
  if (!cases.front().missing.empty()) GTEST_SKIP() << "the arc-test-suite is absent";
  EXPECT_EQ(cases.size(), 17u);
}

// RFC 8032 7.1 TEST 1 (the RFC 8463 example key), as PKCS#8 PEM: quick to sign 50 sets with.
constexpr std::string_view kEd25519Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

class OneRecordZone : public DnsLookup {
 public:
  OneRecordZone(std::string name, std::string record)
      : name_(std::move(name)), record_(std::move(record)) {}
  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    ++batches;
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& question : questions) {
      DnsAnswer answer;
      answer.status = question.name == name_ ? DnsLookupStatus::kOk : DnsLookupStatus::kNxDomain;
      if (question.name == name_) answer.values.push_back(record_);
      answers.push_back(std::move(answer));
    }
    return answers;
  }
  int batches = 0;

 private:
  std::string name_;
  std::string record_;
};

struct Ed25519Setup {
  DkimPrivateKey key;
  OneRecordZone zone;
  ArcSealingKey sealing_key;
};

Ed25519Setup ed25519_setup() {
  DkimPrivateKey key = load_dkim_private_key(kEd25519Pem).value();
  std::string record = "v=DKIM1; k=ed25519; p=" + key.public_key_base64();
  return Ed25519Setup{std::move(key), OneRecordZone("arc._domainkey.example.org", record), {}};
}

const char kMessage[] =
    "From: Alice <alice@example.org>\n"
    "To: bob@example.net\n"
    "Subject: hello\n"
    "Date: Mon, 7 Dec 2026 20:00:00 +0000\n"
    "\n"
    "Hello  Bob,\n\n\n";

TEST(ArcSealer, FiftySetsAndNoFiftyFirst) {
  Ed25519Setup setup = ed25519_setup();
  ArcSealingKey key{"example.org", "arc", &setup.key};
  ArcMessage message = testing::split_arc_message(kMessage);
  ArcSealOptions options;
  options.timestamp = 1700000000;
  for (uint32_t instance = 1; instance <= kMaxArcInstances; ++instance) {
    ArcResult chain = validate(message, setup.zone);
    ASSERT_EQ(chain.status, instance == 1 ? ArcChainStatus::kNone : ArcChainStatus::kPass)
        << "before set " << instance << ": " << chain.reason;
    Result<ArcSetValues> set = seal(message, key, options, "mx.example.net",
                                    {"spf=pass smtp.mailfrom=example.org"}, chain, 7);
    ASSERT_TRUE(set.ok()) << set.error().message;
    ASSERT_EQ(set->instance, instance);
    message = with_set(message, *set);
  }
  ArcResult chain = validate(message, setup.zone);
  ASSERT_EQ(chain.status, ArcChainStatus::kPass) << chain.reason;
  EXPECT_EQ(chain.instances, kMaxArcInstances);
  Result<ArcSetValues> set = seal(message, key, options, "mx.example.net", {}, chain);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().kind, ErrorKind::kLimit);
}

TEST(ArcSealer, FailedChainIsSealedOverItsOwnSetOnly) {
  Ed25519Setup setup = ed25519_setup();
  ArcSealingKey key{"example.org", "arc", &setup.key};
  ArcMessage message = testing::split_arc_message(kMessage);
  ArcSealOptions options;
  options.timestamp = 1700000000;
  Result<ArcSetValues> first =
      seal(message, key, options, "mx.example.net", {}, validate(message, setup.zone));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(collapse_space(first->authentication_results), "i=1; mx.example.net; none");
  message = with_set(message, *first);
  message.body += "a footer added later\r\n";  // breaks AMS i=1
  ArcResult chain = validate(message, setup.zone);
  ASSERT_EQ(chain.status, ArcChainStatus::kFail);
  EXPECT_FALSE(chain.newest_seal_failed);
  Result<ArcSetValues> second =
      seal(message, key, options, "mx.example.net", {chain.resinfo("192.0.2.1")}, chain);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->instance, 2u);
  EXPECT_NE(second->seal.find("cv=fail;"), std::string::npos) << second->seal;

  // The seal covers set 2 alone (AAR, AMS, then itself with b= empty), nothing of set 1.
  std::vector<DkimHeader> fields = second->fields();  // AS, AMS, AAR
  Result<ArcSeal> parsed = parse_arc_seal(fields[0].value);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  std::string without_b =
      fields[0].value.substr(0, parsed->b_raw_begin) + fields[0].value.substr(parsed->b_raw_end);
  Result<std::string> raw_key = dkim_base64_decode(setup.key.public_key_base64());
  ASSERT_TRUE(raw_key.ok());
  Result<DkimPublicKey> public_key = DkimPublicKey::from_record(DkimKeyType::kEd25519, *raw_key);
  ASSERT_TRUE(public_key.ok());
  EXPECT_TRUE(public_key->verify(DkimAlgorithm::kEd25519Sha256,
                                 arc_seal_hash_input({&fields[2], &fields[1]}, without_b),
                                 parsed->signature));

  // The chain now ends in cv=fail: nobody may add to it.
  message = with_set(message, *second);
  ArcResult ended = validate(message, setup.zone);
  EXPECT_EQ(ended.status, ArcChainStatus::kFail);
  EXPECT_TRUE(ended.newest_seal_failed);
  Result<ArcSetValues> third = seal(message, key, options, "mx.example.net", {}, ended);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().kind, ErrorKind::kPermanent);
}

TEST(ArcSealer, RefusesToSignArcSealsInTheAms) {
  Ed25519Setup setup = ed25519_setup();
  ArcSealingKey key{"example.org", "arc", &setup.key};
  ArcMessage message = testing::split_arc_message(kMessage);
  ArcSealOptions options;
  options.signed_headers = {"From", "ARC-Seal"};
  Result<ArcSetValues> set = seal(message, key, options, "mx.example.net", {}, ArcResult{});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().kind, ErrorKind::kConfig);
}

TEST(ArcSealer, ResinfoCountLimitAndTheAarReadsBack) {
  Ed25519Setup setup = ed25519_setup();
  ArcSealingKey key{"example.org", "arc", &setup.key};
  ArcMessage message = testing::split_arc_message(kMessage);
  std::vector<std::string> resinfos;
  for (size_t k = 0; k < kMaxArcSealResinfos; ++k) {
    resinfos.push_back("dkim=pass header.d=d" + std::to_string(k) + ".example (a comment; here)");
  }
  Result<ArcSetValues> set =
      seal(message, key, ArcSealOptions{}, "mx.example.net", resinfos, ArcResult{});
  ASSERT_TRUE(set.ok()) << set.error().message;
  Result<AuthResults> parsed =
      parse_auth_results(set->authentication_results, AuthResultsKind::kArcAuthenticationResults);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->arc_instance, 1u);
  EXPECT_EQ(parsed->authserv_id, "mx.example.net");
  ASSERT_EQ(parsed->results.size(), kMaxArcSealResinfos);
  EXPECT_EQ(parsed->results.back().properties.front().value, "d63.example");

  resinfos.push_back("spf=pass");
  Result<ArcSetValues> too_many =
      seal(message, key, ArcSealOptions{}, "mx.example.net", resinfos, ArcResult{});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().kind, ErrorKind::kLimit);
}

// h= names From once and Received as often as it occurs: 1 + 127 names is the AMS parser's
// limit (kMaxDkimSignedHeaders) and verifies; one more Received is refused.
TEST(ArcSealer, SignedHeaderLimit) {
  Ed25519Setup setup = ed25519_setup();
  ArcSealingKey key{"example.org", "arc", &setup.key};
  ArcMessage message = testing::split_arc_message(kMessage);
  for (size_t k = 1; k < kMaxDkimSignedHeaders; ++k) {
    message.headers.push_back({"Received", " from a.example by b.example"});
  }
  ArcSealOptions options;
  options.signed_headers = {"From", "Received"};
  Result<ArcSetValues> at_limit = seal(message, key, options, "mx.example.net", {}, ArcResult{});
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  for (const DkimHeader& field : at_limit->fields()) {  // h= folded between its names
    std::string line_text = field.name + ":" + field.value;
    for (size_t start = 0, end = 0; start < line_text.size(); start = end + 2) {
      end = std::min(line_text.find("\r\n", start), line_text.size());
      EXPECT_LT(end - start, kArcFoldColumns) << line_text;
    }
  }
  ArcResult verified = validate(with_set(message, *at_limit), setup.zone);
  EXPECT_EQ(verified.status, ArcChainStatus::kPass) << verified.reason;
  message.headers.push_back({"Received", " from c.example by b.example"});
  Result<ArcSetValues> past = seal(message, key, options, "mx.example.net", {}, ArcResult{});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().kind, ErrorKind::kLimit);
}

TEST(ArcSealer, RefusesResinfoThatCouldEndTheField) {
  Ed25519Setup setup = ed25519_setup();
  ArcSealingKey key{"example.org", "arc", &setup.key};
  ArcMessage message = testing::split_arc_message(kMessage);
  Result<ArcSetValues> set = seal(message, key, ArcSealOptions{}, "mx.example.net",
                                  {"spf=pass\r\nX-Injected: yes"}, ArcResult{});
  ASSERT_FALSE(set.ok());
}

}  // namespace
}  // namespace postern
