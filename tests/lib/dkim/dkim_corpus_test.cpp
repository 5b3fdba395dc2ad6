// The public DKIM corpora in POSTERN_SHARED_TESTDATA/dkim against lib/dkim:
// - dkimpy/: its signing and key-record cases (sign test.message, verify with each key file),
//   the RFC 6376 message signed with simple/simple by dkimpy, the Exim ed25519 signature, and a
//   message without From that must not be signed.
// - mail-dkim/: every corpus message verified with the keys of FAKE_DNS.dat, the overall result
//   (pass if one signature passes, else fail if one fails, else invalid) compared with
//   expected-results.tsv. The corpus is from the RFC 4871 era (512-bit keys, rsa-sha1), so it is
//   run with min_rsa_bits 512 and accept_rsa_sha1; a second run with the defaults checks that
//   none of those signatures passes. The cases where an RFC 6376 / RFC 8301 verifier must differ
//   from Mail::DKIM are listed in kMailDkimDifferences with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "lib/dkim/dkim_signer.hpp"
#include "lib/dkim/dkim_verifier.hpp"
#include "tests/lib/dkim/dkim_test_keys.hpp"
#include "tests/lib/dkim/dkim_test_support.hpp"

namespace postern {
namespace {

using dkim_test::parse_message;
using dkim_test::read_file;
using dkim_test::ZoneDns;

const std::string kTestdata = std::string(POSTERN_SHARED_TESTDATA) + "/dkim";
constexpr int64_t kNow = 1700000000;

#define REQUIRE_FOLDER(folder)                                                          \
  if (!std::filesystem::exists(kTestdata + "/" folder)) {                              \
    GTEST_SKIP() << "shared DKIM test data not found at " << kTestdata << "/" folder;  \
  }

std::vector<DkimResult> verify(const std::string& raw, DnsLookup& dns, DkimVerifyOptions options) {
  dkim_test::SplitMessage message = parse_message(raw);
  DkimVerifier verifier(message.headers, options);
  verifier.add_body(message.body);
  return verifier.finish(dns);
}

DkimPrivateKey load(const std::string& pem) {
  Result<DkimPrivateKey> key = load_dkim_private_key(pem);
  if (!key) std::abort();
  return std::move(*key);
}

// dkimpy's sign-then-verify: test.message signed as example.com/test, checked against the
// key file given as the TXT record.
DkimResult dkimpy_sign_verify(const std::string& message_file, const std::string& key_file) {
  const std::string dir = kTestdata + "/dkimpy/";
  DkimPrivateKey key = load(read_file(dir + "test.private"));
  std::string raw = read_file(dir + message_file);
  dkim_test::SplitMessage message = parse_message(raw);
  DkimSignOptions options;
  options.timestamp = kNow;
  DkimSigner signer({DkimSigningIdentity{"example.com", "test", &key, ""}}, options);
  signer.add_body(message.body);
  Result<std::vector<std::string>> values = signer.finish(message.headers);
  if (!values) return DkimResult{};
  ZoneDns dns;
  std::string record = read_file(dir + key_file);
  while (!record.empty() && (record.back() == '\n' || record.back() == '\r')) record.pop_back();
  dns.add_txt("test._domainkey.example.com", record);
  std::vector<DkimResult> results =
      verify("DKIM-Signature:" + values->front() + "\r\n" + raw, dns, {kNow});
  return results.front();
}

TEST(DkimpyCorpusTest, SignAndVerifyWithEachKeyRecord) {
  REQUIRE_FOLDER("dkimpy");
  EXPECT_EQ(dkimpy_sign_verify("test.message", "test.txt").status, DkimStatus::kPass);
  EXPECT_EQ(dkimpy_sign_verify("test.message", "test2.txt").status, DkimStatus::kPass);  // no k=
  EXPECT_EQ(dkimpy_sign_verify("test2.message", "test.txt").status, DkimStatus::kPass);
  EXPECT_EQ(dkimpy_sign_verify("test_extra.message", "test.txt").status, DkimStatus::kPass);
  EXPECT_EQ(dkimpy_sign_verify("message.mbox", "test.txt").status, DkimStatus::kPass);
  // dkimpy: "fail/invalid" for these three; a key record we cannot use is permerror.
  DkimResult badversion = dkimpy_sign_verify("test.message", "badversion.txt");
  EXPECT_EQ(badversion.status, DkimStatus::kPermerror);
  EXPECT_EQ(badversion.reason, "unsupported key record version");
  DkimResult badk = dkimpy_sign_verify("test.message", "badk.txt");
  EXPECT_EQ(badk.status, DkimStatus::kPermerror);
  EXPECT_EQ(badk.reason, "unsupported key type k=");
  EXPECT_EQ(dkimpy_sign_verify("test.message", "test_tlsrpt.txt").status, DkimStatus::kPermerror);
  // A corrupted modulus: the key still parses, the signature does not verify.
  DkimResult bad = dkimpy_sign_verify("test.message", "test_bad.txt");
  EXPECT_TRUE(bad.status == DkimStatus::kFail || bad.status == DkimStatus::kPermerror)
      << bad.resinfo();
}

TEST(DkimpyCorpusTest, MessageWithoutFromIsNotSigned) {
  REQUIRE_FOLDER("dkimpy");
  DkimPrivateKey key = load(read_file(kTestdata + "/dkimpy/test.private"));
  dkim_test::SplitMessage message =
      parse_message(read_file(kTestdata + "/dkimpy/test_nofrom.message"));
  DkimSigner signer({DkimSigningIdentity{"example.com", "test", &key, ""}}, {});
  signer.add_body(message.body);
  EXPECT_FALSE(signer.finish(message.headers).ok());
}

TEST(DkimpyCorpusTest, Rfc6376MessageSignedSimpleByDkimpyVerifies) {
  REQUIRE_FOLDER("dkimpy");
  ZoneDns dns;
  dns.load_zone_file(read_file(kTestdata + "/rfc8463/dns-records.zone"));
  std::vector<DkimResult> results =
      verify(read_file(kTestdata + "/dkimpy/rfc6376.signed.msg"), dns, {1528637909});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status, DkimStatus::kPass) << results[0].reason;
  EXPECT_EQ(results[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(results[1].status, DkimStatus::kPass) << results[1].reason;
}

TEST(DkimpyCorpusTest, Ed25519SignAndEximSignature) {
  REQUIRE_FOLDER("dkimpy");
  const std::string dir = kTestdata + "/dkimpy/";
  DkimPrivateKey key =
      load(dkim_test::ed25519_pem_from_seed_base64(read_file(dir + "ed25519test.key")));
  std::string record = read_file(dir + "ed25519test.dns");
  while (!record.empty() && record.back() == '\n') record.pop_back();
  EXPECT_NE(record.find(key.public_key_base64()), std::string::npos);
  std::string raw = read_file(dir + "ed25519test.msg");
  dkim_test::SplitMessage message = parse_message(raw);
  DkimSigner signer({DkimSigningIdentity{"example.com", "test", &key, ""}}, {});
  signer.add_body(message.body);
  Result<std::vector<std::string>> values = signer.finish(message.headers);
  ASSERT_TRUE(values.ok());
  ZoneDns dns;
  dns.add_txt("test._domainkey.example.com", record);
  std::vector<DkimResult> ours = verify("DKIM-Signature:" + values->front() + "\r\n" + raw, dns,
                                        {kNow});
  EXPECT_EQ(ours.front().status, DkimStatus::kPass) << ours.front().reason;

  std::string exim_record = read_file(dir + "eximtest.dns");
  while (!exim_record.empty() && exim_record.back() == '\n') exim_record.pop_back();
  ZoneDns exim_dns;
  exim_dns.add_txt("sed._domainkey.test.ex", exim_record);
  std::vector<DkimResult> exim = verify(read_file(dir + "ed25519test2.msg"), exim_dns, {kNow});
  ASSERT_EQ(exim.size(), 1u);
  EXPECT_EQ(exim[0].status, DkimStatus::kPass) << exim[0].reason;
}

// Overall verdict in Mail::DKIM's words.
std::string overall(const std::vector<DkimResult>& results) {
  bool fail = false;
  for (const DkimResult& result : results) {
    if (result.status == DkimStatus::kPass) return "pass";
    if (result.status == DkimStatus::kFail) fail = true;
  }
  if (results.size() == 1 && results[0].status == DkimStatus::kNone) return "none";
  return fail ? "fail" : "invalid";
}

struct Difference {
  const char* ours;
  const char* why;
};

// Where an RFC 6376 verifier gives another overall result than Mail::DKIM's expectation.
const std::map<std::string, Difference> kMailDkimDifferences = {
    // DomainKeys (DomainKey-Signature, RFC 4870) is not DKIM: these messages have no
    // DKIM-Signature, so the DKIM result is none.
    {"good_dk_1.txt", {"none", "DomainKeys only"}},
    {"good_dk_2.txt", {"none", "DomainKeys only"}},
    {"good_dk_3.txt", {"none", "DomainKeys only"}},
    {"good_dk_4.txt", {"none", "DomainKeys only"}},
    {"good_dk_5.txt", {"none", "DomainKeys only"}},
    {"good_dk_6.txt", {"none", "DomainKeys only"}},
    {"good_dk_7.txt", {"none", "DomainKeys only"}},
    {"good_dk_gmail.txt", {"none", "DomainKeys only"}},
    {"good_dk_yahoo.txt", {"none", "DomainKeys only"}},
    {"dk_headers_1.txt", {"none", "DomainKeys only"}},
    {"dk_headers_2.txt", {"none", "DomainKeys only"}},
    {"dk_multiple_1.txt", {"none", "DomainKeys only"}},
    {"bad_dk_1.txt", {"none", "DomainKeys only"}},
    {"bad_dk_2.txt", {"none", "DomainKeys only"}},
    {"bad_dk_3.txt", {"none", "DomainKeys only"}},
    {"bad_dk_4.txt", {"none", "DomainKeys only"}},
    {"bad_dk_5.txt", {"none", "DomainKeys only"}},
    // Draft signatures (ietf-00/01, v=0.5, no v=): RFC 6376 3.5 requires v=1.
    {"good_ietf00_1.txt", {"invalid", "draft signature without v=1"}},
    {"good_ietf00_2.txt", {"invalid", "draft signature without v=1"}},
    {"good_ietf00_3.txt", {"invalid", "draft signature without v=1"}},
    {"good_ietf00_4.txt", {"invalid", "draft signature without v=1"}},
    {"good_ietf00_5.txt", {"invalid", "draft signature without v=1"}},
    {"good_ietf01_1.txt", {"invalid", "draft signature without v=1"}},
    {"good_ietf01_2.txt", {"invalid", "draft signature without v=1"}},
    {"mine_ietf01_1.txt", {"invalid", "draft signature without v=1"}},
    {"mine_ietf01_2.txt", {"invalid", "draft signature without v=1"}},
    {"mine_ietf01_3.txt", {"invalid", "draft signature without v=1"}},
    {"mine_ietf01_4.txt", {"invalid", "draft signature without v=1"}},
    {"mine_ietf05_1.txt", {"invalid", "draft signature v=0.5"}},
    {"multiple_1.txt", {"invalid", "draft signatures without v=1"}},
    {"no_body_1.txt", {"invalid", "draft signature v=0.5"}},
    {"no_body_2.txt", {"invalid", "draft signature v=0.5"}},
    {"no_body_3.txt", {"invalid", "draft signature v=0.5"}},
    {"bad_ietf01_1.txt", {"invalid", "draft signature without v=1: not checked, so no fail"}},
    {"bad_ietf01_2.txt", {"invalid", "draft signature without v=1: not checked, so no fail"}},
    {"bad_ietf01_3.txt", {"invalid", "draft signature without v=1: not checked, so no fail"}},
    {"bad_1.txt", {"invalid", "draft signature without v=1: not checked, so no fail"}},
    // g= (key granularity) was dropped by RFC 6376; an RFC 6376 verifier ignores the tag.
    {"badkey_8.txt", {"pass", "g= ignored (RFC 6376 dropped it)"}},
    {"badkey_9.txt", {"pass", "g= ignored (RFC 6376 dropped it)"}},
    {"badkey_12.txt", {"pass", "g= ignored (RFC 6376 dropped it)"}},
    {"badkey_13.txt", {"pass", "g= ignored (RFC 6376 dropped it)"}},
};

TEST(MailDkimCorpusTest, EveryMessageAsExpected) {
  REQUIRE_FOLDER("mail-dkim");
  const std::string dir = kTestdata + "/mail-dkim/";
  ZoneDns dns;
  dns.load_fake_dns(read_file(dir + "FAKE_DNS.dat"));
  std::istringstream table(read_file(dir + "expected-results.tsv"));
  std::string line;
  int checked = 0;
  int as_expected = 0;
  while (std::getline(table, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, expected;
    std::getline(fields, file, '\t');
    std::getline(fields, expected, '\t');
    SCOPED_TRACE(file);
    std::string raw = read_file(dir + "corpus/" + file);
    ASSERT_FALSE(raw.empty());
    DkimVerifyOptions old{kNow};
    old.min_rsa_bits = 512;
    old.accept_rsa_sha1 = true;
    std::vector<DkimResult> results = verify(raw, dns, old);
    std::string ours = overall(results);
    auto difference = kMailDkimDifferences.find(file);
    std::string want = difference == kMailDkimDifferences.end() ? expected : difference->second.ours;
    std::string detail;
    for (const DkimResult& result : results) detail += " [" + result.resinfo() + "]";
    EXPECT_EQ(ours, want) << detail;
    ++checked;
    if (ours == expected) ++as_expected;

    // With the defaults (RFC 8301), nothing signed with rsa-sha1 or a key under 1024 bits passes.
    for (const DkimResult& result : verify(raw, dns, {kNow})) {
      if (result.status != DkimStatus::kPass) continue;
      EXPECT_NE(result.algorithm, "rsa-sha1");
      if (result.algorithm != "ed25519-sha256") {
        EXPECT_GE(result.key_bits, 1024);
      }
    }
  }
  EXPECT_EQ(checked, 79);
  EXPECT_EQ(as_expected, 79 - static_cast<int>(kMailDkimDifferences.size()));
}

TEST(MailDkimCorpusTest, MultipleSignaturesOneResultEach) {
  REQUIRE_FOLDER("mail-dkim");
  const std::string dir = kTestdata + "/mail-dkim/";
  ZoneDns dns;
  dns.load_fake_dns(read_file(dir + "FAKE_DNS.dat"));
  DkimVerifyOptions old{kNow};
  old.min_rsa_bits = 512;
  old.accept_rsa_sha1 = true;
  std::vector<DkimResult> results = verify(read_file(dir + "corpus/multiple_2.txt"), dns, old);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status, DkimStatus::kPermerror);  // c=foobar
  EXPECT_EQ(results[1].status, DkimStatus::kPass);
  EXPECT_EQ(results[2].status, DkimStatus::kFail);
  EXPECT_EQ(results[3].status, DkimStatus::kPermerror);  // "synerr"
  EXPECT_EQ(dns.batches, 1);
}

}  // namespace
}  // namespace postern
