// Tests authmilter/message_check.cpp without libmilter, through MessageCheck::start()->finish()
// over a small zone of our own: the ARC verdict is one resinfo of the Authentication-Results,
// after DKIM's and before DMARC's, with the client address as smtp.remote-ip, and the summary
// log line carries arc=. The chain is made with lib/arc's sealer and an Ed25519 key (RFC 8032
// 7.1's test key); the zone answers that key's TXT record and NXDOMAIN for everything else.
#include "authmilter/message_check.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "lib/arc/arc_sealer.hpp"
#include "lib/arc/arc_verifier.hpp"
#include "lib/dkim/dkim_private_key.hpp"
#include "lib/net/dns_message.hpp"

namespace postern::authmilter {
namespace {

constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

class SmallZone : public DnsLookup {
 public:
  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override {
    std::vector<DnsAnswer> answers;
    for (const DnsQuestion& question : questions) {
      DnsAnswer answer;
      auto found = txt.find(question.name);
      if (question.type == kDnsTypeTxt && found != txt.end()) {
        answer.status = DnsLookupStatus::kOk;
        answer.values.push_back(found->second);
      } else {
        answer.status = DnsLookupStatus::kNxDomain;
      }
      answers.push_back(std::move(answer));
    }
    return answers;
  }
  std::map<std::string, std::string> txt;
};

const std::vector<HeaderField> kHeaders = {
    {"From", " Alice <alice@example.org>"},
    {"To", " bob@example.net"},
    {"Subject", " forwarded"},
    {"Date", " Mon, 7 Dec 2026 20:00:00 +0000"},
};
constexpr std::string_view kBody = "Hello Bob,\r\n\r\nsee you.\r\n";

struct Fixture {
  Fixture() : key(load_dkim_private_key(kKeyPem).value()) {
    settings.authserv_id = "mx.example.net";
    settings.hostname = "mx.example.net";
    services.settings = &settings;
    zone.txt["arc._domainkey.lists.example.com"] =
        "v=DKIM1; k=ed25519; p=" + key.public_key_base64();
  }

  // headers with one ARC set of lists.example.com on top, as a mailing list would add it.
  std::vector<HeaderField> sealed(const std::vector<HeaderField>& headers) {
    ArcVerifier verifier(headers, ArcVerifyOptions{});
    verifier.add_body(kBody);
    ArcResult chain = verifier.finish(zone);
    ArcSealOptions options;
    options.timestamp = 1700000000;
    ArcSealer sealer({"lists.example.com", "arc", &key}, options);
    sealer.add_body(kBody);
    Result<ArcSetValues> set =
        sealer.finish(headers, "lists.example.com", {"spf=pass smtp.mailfrom=example.org"}, chain);
    EXPECT_TRUE(set.ok());
    std::vector<HeaderField> out = headers;
    if (set.ok()) {
      std::vector<DkimHeader> fields = set->fields();
      out.insert(out.begin(), fields.begin(), fields.end());
    }
    return out;
  }

  CheckOutcome check(const std::vector<HeaderField>& headers, std::string_view body) {
    MessageFacts facts{"192.0.2.1", "lists.example.com", "list-bounces@example.com", "4ABC"};
    std::unique_ptr<MessageCheck> check = MessageCheck::start(services, facts, headers);
    check->body(body);
    return check->finish(zone);
  }

  DkimPrivateKey key;
  AuthmilterSettings settings;
  AuthServices services;
  SmallZone zone;
};

TEST(MessageCheckArc, PassingChainIsReportedBeforeDmarc) {
  Fixture fixture;
  CheckOutcome outcome = fixture.check(fixture.sealed(kHeaders), kBody);
  const std::string& results = outcome.authentication_results;
  size_t arc = results.find("arc=pass (i=1) header.oldest-pass=0 smtp.remote-ip=192.0.2.1");
  ASSERT_NE(arc, std::string::npos) << results;
  size_t dkim = results.find("dkim=");
  size_t dmarc = results.find("dmarc=");
  ASSERT_NE(dkim, std::string::npos) << results;
  ASSERT_NE(dmarc, std::string::npos) << results;
  EXPECT_LT(dkim, arc);
  EXPECT_LT(arc, dmarc);
  EXPECT_NE(outcome.summary.find(" arc=pass dmarc="), std::string::npos) << outcome.summary;
}

TEST(MessageCheckArc, NoChainIsNone) {
  Fixture fixture;
  CheckOutcome outcome = fixture.check(kHeaders, kBody);
  EXPECT_NE(outcome.authentication_results.find("arc=none;"), std::string::npos)
      << outcome.authentication_results;
  EXPECT_NE(outcome.summary.find(" arc=none "), std::string::npos) << outcome.summary;
}

TEST(MessageCheckArc, ChangedBodyFails) {
  Fixture fixture;
  CheckOutcome outcome = fixture.check(fixture.sealed(kHeaders), "Hello Mallory\r\n");
  EXPECT_NE(outcome.authentication_results.find(
                "arc=fail (i=1) reason=\"AMS i=1: body hash did not verify\""),
            std::string::npos)
      << outcome.authentication_results;
  EXPECT_NE(outcome.summary.find(" arc=fail "), std::string::npos) << outcome.summary;
}

}  // namespace
}  // namespace postern::authmilter
