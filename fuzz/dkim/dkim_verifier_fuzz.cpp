// libFuzzer target for lib/dkim/dkim_verifier.cpp and dkim_signer.cpp with the canonicalization
// under them: postern-authmilter verifies every incoming message and signs submitted ones. The
// first input byte picks the canonicalizations and the body chunk size; the rest is a message
// (header fields up to the first empty line, then the body). The message is verified as it is
// (any DKIM-Signature in it is hostile) against a DNS that has one Ed25519 key for every name;
// then, when it has a From field, it is signed with that key and verified again, which must
// pass: signer and verifier must agree on every message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dkim/dkim_signer.hpp"
#include "lib/dkim/dkim_verifier.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// RFC 8032 7.1 TEST 1 (the RFC 8463 example key), as PKCS#8 PEM.
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

class OneKeyDns : public postern::DnsLookup {
 public:
  explicit OneKeyDns(std::string record) : record_(std::move(record)) {}
  std::vector<postern::DnsAnswer> lookup(std::span<const postern::DnsQuestion> questions) override {
    ++batches;
    std::vector<postern::DnsAnswer> answers(questions.size());
    for (postern::DnsAnswer& answer : answers) {
      answer.status = postern::DnsLookupStatus::kOk;
      answer.values = {record_};
    }
    return answers;
  }
  int batches = 0;

 private:
  std::string record_;
};

struct Message {
  std::vector<postern::DkimHeader> headers;
  std::string_view body;
};

Message split(std::string_view raw) {
  Message message;
  size_t at = 0;
  while (at < raw.size()) {
    size_t eol = raw.find('\n', at);
    size_t next = eol == std::string_view::npos ? raw.size() : eol + 1;
    std::string_view line = raw.substr(at, next - at);
    std::string_view bare = line.substr(0, line.find_last_not_of("\r\n") + 1);
    if (line.find_first_not_of("\r\n") == std::string_view::npos) {
      message.body = raw.substr(next);
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !message.headers.empty()) {
      message.headers.back().value += "\r\n";
      message.headers.back().value += bare;
    } else {
      size_t colon = bare.find(':');
      if (colon == std::string_view::npos) colon = bare.size();
      message.headers.push_back(
          postern::DkimHeader{std::string(bare.substr(0, colon)),
                              std::string(bare.substr(colon == bare.size() ? colon : colon + 1))});
    }
    at = next;
  }
  return message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const postern::DkimPrivateKey key = postern::load_dkim_private_key(kKeyPem).value();
  static const std::string record = "v=DKIM1; k=ed25519; p=" + key.public_key_base64();
  if (size == 0 || size > 65536) return 0;
  const uint8_t options = data[0];
  const size_t chunk = 1 + (options >> 2);
  Message message = split(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  OneKeyDns dns(record);
  postern::DkimVerifyOptions verify_options;
  verify_options.now = 1700000000;
  {
    postern::DkimVerifier verifier(message.headers, verify_options);
    for (size_t at = 0; at < message.body.size(); at += chunk) {
      verifier.add_body(message.body.substr(at, chunk));
    }
    std::vector<postern::DkimResult> results = verifier.finish(dns);
    check(!results.empty() && results.size() <= verify_options.max_signatures + 1);
    check(dns.batches <= 1);
    for (const postern::DkimResult& result : results) {
      std::string text = result.resinfo();
      check(text.rfind("dkim=", 0) == 0 && text.find_first_of("\r\n") == std::string::npos);
    }
  }

  postern::DkimSignOptions sign_options;
  sign_options.header_canon =
      (options & 1) ? postern::DkimCanon::kRelaxed : postern::DkimCanon::kSimple;
  sign_options.body_canon =
      (options & 2) ? postern::DkimCanon::kRelaxed : postern::DkimCanon::kSimple;
  sign_options.timestamp = verify_options.now;
  postern::DkimSigner signer({postern::DkimSigningIdentity{"example.org", "fuzz", &key, ""}},
                             sign_options);
  for (size_t at = 0; at < message.body.size(); at += chunk) {
    signer.add_body(message.body.substr(at, chunk));
  }
  postern::Result<std::vector<std::string>> values = signer.finish(message.headers);
  if (!values) return 0;
  check(values->size() == 1);
  std::vector<postern::DkimHeader> signed_headers = message.headers;
  signed_headers.insert(signed_headers.begin(),
                        postern::DkimHeader{"DKIM-Signature", values->front()});
  postern::DkimVerifier verifier(signed_headers, verify_options);
  verifier.add_body(message.body);
  std::vector<postern::DkimResult> results = verifier.finish(dns);
  check(!results.empty());
  if (results.front().status != postern::DkimStatus::kPass) std::abort();
  return 0;
}
