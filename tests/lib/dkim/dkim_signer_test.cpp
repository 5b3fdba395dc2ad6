// Unit tests for lib/dkim/dkim_signer.cpp: the RFC 8463 A.3 ed25519 signature reproduced byte
// for byte from rfc8463/unsigned.eml and the RFC's seed; sign-then-verify round trips for
// rsa-1024, rsa-2048, rsa-4096 and ed25519 in each of the four canonicalizations over bodies fed
// in chunks of 1, 7 and 4096 bytes; the h= list with over-signing; folding below 78 columns;
// the refusals (no From, no key); and dkimpy's cases (sign its messages, verify against each
// of its key files; its ed25519 key; the Exim ed25519 signature; no From, no signature).
#include "lib/dkim/dkim_signer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "lib/dkim/dkim_verifier.hpp"
#include "tests/lib/dkim/dkim_test_keys.hpp"
#include "tests/lib/dkim/dkim_test_support.hpp"

namespace postern {
namespace {

using dkim_test::parse_message;
using dkim_test::ZoneDns;

const std::string kTestdata = std::string(POSTERN_SHARED_TESTDATA) + "/dkim";
constexpr int64_t kNow = 1700000000;

DkimPrivateKey load(const std::string& pem) {
  Result<DkimPrivateKey> key = load_dkim_private_key(pem);
  if (!key) std::abort();
  return std::move(*key);
}

std::vector<std::string> sign_chunked(const std::string& raw,
                                      std::vector<DkimSigningIdentity> identities,
                                      DkimSignOptions options, size_t chunk_bytes) {
  dkim_test::SplitMessage message = parse_message(raw);
  DkimSigner signer(std::move(identities), options);
  for (size_t at = 0; at < message.body.size(); at += chunk_bytes) {
    signer.add_body(std::string_view(message.body).substr(at, chunk_bytes));
  }
  Result<std::vector<std::string>> values = signer.finish(message.headers);
  EXPECT_TRUE(values.ok()) << (values.ok() ? "" : values.error().message);
  return values.ok() ? *values : std::vector<std::string>{};
}

TEST(DkimSignerTest, ReproducesRfc8463Ed25519SignatureByteForByte) {
  if (!std::filesystem::exists(kTestdata + "/rfc8463")) {
    GTEST_SKIP() << "shared DKIM test data not found at " << kTestdata;
  }
  DkimPrivateKey key = load(dkim_test::ed25519_pem_from_seed_base64(
      dkim_test::read_file(kTestdata + "/rfc8463/brisbane.ed25519.seed.b64")));
  EXPECT_EQ(key.public_key_base64(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  DkimSignOptions options;
  options.signed_headers = {"From", "To", "Subject", "Date", "Message-ID"};
  options.oversigned_headers = {"From", "Subject", "Date"};
  options.timestamp = 1528637909;
  options.write_query_method = true;
  options.header_list_separator = " : ";
  std::vector<std::string> values = sign_chunked(
      dkim_test::read_file(kTestdata + "/rfc8463/unsigned.eml"),
      {DkimSigningIdentity{"football.example.com", "brisbane", &key, "@football.example.com"}},
      options, 5);
  ASSERT_EQ(values.size(), 1u);
  // The published signature, from the signed message's first DKIM-Signature.
  dkim_test::SplitMessage published =
      parse_message(dkim_test::read_file(kTestdata + "/rfc8463/rfc8463-A3-signed.eml"));
  Result<DkimSignature> expected = parse_dkim_signature(published.headers[0].value);
  Result<DkimSignature> ours = parse_dkim_signature(values[0]);
  ASSERT_TRUE(expected.ok() && ours.ok());
  EXPECT_EQ(ours->signature_text, expected->signature_text);
  EXPECT_EQ(ours->signature_text,
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1"
            "Dw==");
  EXPECT_EQ(ours->body_hash, expected->body_hash);
  EXPECT_EQ(ours->signed_headers, expected->signed_headers);
}

TEST(DkimSignerTest, HeaderListCountsOccurrencesThenOversigns) {
  DkimPrivateKey key = load(dkim_test::new_ed25519_pem());
  std::string raw =
      "Received: a\r\nFrom: a@example.org\r\nTo: b@example.net\r\nTO: c@example.net\r\n"
      "X-Other: 1\r\n\r\nbody\r\n";
  DkimSignOptions options;
  options.signed_headers = {"From", "To", "Cc", "X-Other"};
  options.oversigned_headers = {"From", "To"};
  std::vector<std::string> values =
      sign_chunked(raw, {DkimSigningIdentity{"example.org", "s", &key, ""}}, options, 64);
  ASSERT_EQ(values.size(), 1u);
  Result<DkimSignature> parsed = parse_dkim_signature(values[0]);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->signed_headers,
            (std::vector<std::string>{"from", "to", "to", "x-other", "from", "to"}));
}

TEST(DkimSignerTest, FoldsBelow78ColumnsWithCrlfTab) {
  DkimPrivateKey key = load(dkim_test::rsa_pem(4096));
  std::string raw = "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";
  std::vector<std::string> values = sign_chunked(
      raw, {DkimSigningIdentity{"a-rather-long-domain-name.example.org", "selector2026", &key, ""}},
      {}, 64);
  ASSERT_EQ(values.size(), 1u);
  const std::string& value = values[0];
  ASSERT_FALSE(value.empty());
  EXPECT_EQ(value[0], ' ');
  std::string full = "DKIM-Signature:" + value;
  size_t start = 0;
  int lines = 0;
  while (true) {
    size_t end = full.find("\r\n", start);
    std::string line = full.substr(start, end == std::string::npos ? end : end - start);
    EXPECT_LT(line.size(), kDkimFoldColumns) << line;
    EXPECT_NE(line.back(), ' ') << line;
    ++lines;
    if (end == std::string::npos) break;
    EXPECT_EQ(full[end + 2], '\t');
    start = end + 2;
  }
  EXPECT_GT(lines, 8);  // a 4096-bit b= alone is 683 characters
  EXPECT_EQ(value.find('\n'), value.find("\r\n") + 1);
}

TEST(DkimSignerTest, RefusesMessageWithoutFromAndIdentityWithoutKey) {
  DkimPrivateKey key = load(dkim_test::new_ed25519_pem());
  dkim_test::SplitMessage message = parse_message("To: b@example.net\r\n\r\nhi\r\n");
  DkimSigner signer({DkimSigningIdentity{"example.org", "s", &key, ""}}, {});
  EXPECT_FALSE(signer.finish(message.headers).ok());
  DkimSigner keyless({DkimSigningIdentity{"example.org", "s", nullptr, ""}}, {});
  EXPECT_FALSE(keyless.finish(parse_message("From: a@b\r\n\r\n").headers).ok());
  DkimSignOptions no_from;
  no_from.signed_headers = {"To"};
  no_from.oversigned_headers = {};
  DkimSigner unsigned_from({DkimSigningIdentity{"example.org", "s", &key, ""}}, no_from);
  EXPECT_FALSE(unsigned_from.finish(parse_message("From: a@b\r\n\r\n").headers).ok());
  DkimSigner bad_domain({DkimSigningIdentity{"exa mple.org", "s", &key, ""}}, {});
  EXPECT_FALSE(bad_domain.finish(parse_message("From: a@b\r\n\r\n").headers).ok());
}

struct RoundTrip {
  const char* name;
  unsigned rsa_bits;  // 0: ed25519
};

class DkimRoundTripTest : public ::testing::TestWithParam<RoundTrip> {};

const std::string kBody =
    "Hello  there,\r\n"
    "\t indented line with trailing space   \r\n"
    "\r\n"
    "a line with a lone CR\r in it\r\n"
    "last line\r\n"
    "\r\n"
    "\r\n";

TEST_P(DkimRoundTripTest, EveryCanonicalizationAndChunking) {
  std::string pem =
      GetParam().rsa_bits ? dkim_test::rsa_pem(GetParam().rsa_bits) : dkim_test::new_ed25519_pem();
  DkimPrivateKey key = load(pem);
  if (GetParam().rsa_bits) {
    EXPECT_EQ(key.bits(), static_cast<int>(GetParam().rsa_bits));
  }
  std::string raw =
      "From: \"Alice\" <alice@example.org>\r\n"
      "To: bob@example.net,\r\n"
      "    carol@example.net\r\n"
      "Subject:  a   folded\r\n"
      "\tsubject line \r\n"
      "Date: Mon, 6 Nov 2023 10:00:00 +0000\r\n"
      "Message-ID: <rt@example.org>\r\n"
      "\r\n" +
      kBody;
  ZoneDns dns;
  dns.add_txt("rt._domainkey.example.org", dkim_test::key_record(key));
  for (DkimCanon header : {DkimCanon::kSimple, DkimCanon::kRelaxed}) {
    for (DkimCanon body : {DkimCanon::kSimple, DkimCanon::kRelaxed}) {
      for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}}) {
        SCOPED_TRACE(::testing::Message() << "header " << static_cast<int>(header) << " body "
                                          << static_cast<int>(body) << " chunk " << chunk);
        DkimSignOptions options;
        options.header_canon = header;
        options.body_canon = body;
        options.timestamp = kNow;
        std::vector<std::string> values =
            sign_chunked(raw, {DkimSigningIdentity{"example.org", "rt", &key, ""}}, options, chunk);
        ASSERT_EQ(values.size(), 1u);
        dkim_test::SplitMessage message = parse_message(raw);
        message.headers.insert(message.headers.begin(), DkimHeader{"DKIM-Signature", values[0]});
        DkimVerifier verifier(message.headers, {kNow});
        for (size_t at = 0; at < message.body.size(); at += chunk) {
          verifier.add_body(std::string_view(message.body).substr(at, chunk));
        }
        std::vector<DkimResult> results = verifier.finish(dns);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].status, DkimStatus::kPass) << results[0].reason;
        if (GetParam().rsa_bits) {
          EXPECT_EQ(results[0].key_bits, static_cast<int>(GetParam().rsa_bits));
        }

        // A changed body byte fails in every canonicalization.
        DkimVerifier changed(message.headers, {kNow});
        std::string body_changed = message.body;
        body_changed[1] = 'a';
        changed.add_body(body_changed);
        EXPECT_EQ(changed.finish(dns)[0].status, DkimStatus::kFail);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, DkimRoundTripTest,
                         ::testing::Values(RoundTrip{"rsa1024", 1024}, RoundTrip{"rsa2048", 2048},
                                           RoundTrip{"rsa4096", 4096}, RoundTrip{"ed25519", 0}),
                         [](const auto& info) { return std::string(info.param.name); });

#define REQUIRE_FOLDER(folder)                                                        \
  if (!std::filesystem::exists(kTestdata + "/" folder)) {                             \
    GTEST_SKIP() << "shared DKIM test data not found at " << kTestdata << "/" folder; \
  }

std::vector<DkimResult> verify(const std::string& raw, DnsLookup& dns, DkimVerifyOptions options) {
  dkim_test::SplitMessage message = parse_message(raw);
  DkimVerifier verifier(message.headers, options);
  verifier.add_body(message.body);
  return verifier.finish(dns);
}

using dkim_test::read_file;

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
  std::vector<DkimResult> ours =
      verify("DKIM-Signature:" + values->front() + "\r\n" + raw, dns, {kNow});
  EXPECT_EQ(ours.front().status, DkimStatus::kPass) << ours.front().reason;

  std::string exim_record = read_file(dir + "eximtest.dns");
  while (!exim_record.empty() && exim_record.back() == '\n') exim_record.pop_back();
  ZoneDns exim_dns;
  exim_dns.add_txt("sed._domainkey.test.ex", exim_record);
  std::vector<DkimResult> exim = verify(read_file(dir + "ed25519test2.msg"), exim_dns, {kNow});
  ASSERT_EQ(exim.size(), 1u);
  EXPECT_EQ(exim[0].status, DkimStatus::kPass) << exim[0].reason;
}

}  // namespace
}  // namespace postern
