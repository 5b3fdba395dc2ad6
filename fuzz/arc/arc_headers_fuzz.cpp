// libFuzzer target for lib/arc: arc_headers.cpp (the ARC fields parsed and gathered into sets)
// and arc_verifier.cpp (chain validation), with arc_sealer.cpp checked against them.
// postern-authmilter validates the ARC chain of every message from a stranger, so the header
// fields and the DNS answers are hostile. Input: the first byte picks the body chunk size; the
// rest is a message (header fields up to the first empty line, then the body); when the body
// holds a line "=====", what follows that line is the TXT record DNS answers for every key name
// (else "v=DKIM1; p=" with the input's first line), so the verifier reaches key parsing with
// hostile records. Invariants: one DNS batch at most; a fail has a reason; the resinfo is one line;
// a pass has 1..50 sets. Then the message is sealed with an Ed25519 key of our own (unless its
// chain already ends in cv=fail or is full) and validated again: a chain that was none or pass
// must pass with one more set, a failed one must now end in our cv=fail. Sealer and verifier
// must agree on every message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "lib/arc/arc_headers.hpp"
#include "lib/arc/arc_sealer.hpp"
#include "lib/arc/arc_verifier.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// RFC 8032 7.1 TEST 1 (the RFC 8463 example key), as PKCS#8 PEM.
constexpr std::string_view kKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kOurKeyName = "fuzzseal._domainkey.example.org";

// Our key for our name, the input's record for every other name.
class InputDns : public postern::DnsLookup {
 public:
  InputDns(std::string input_record, std::string our_record)
      : input_record_(std::move(input_record)), our_record_(std::move(our_record)) {}
  std::vector<postern::DnsAnswer> lookup(std::span<const postern::DnsQuestion> questions) override {
    ++batches;
    std::vector<postern::DnsAnswer> answers(questions.size());
    for (size_t k = 0; k < questions.size(); ++k) {
      answers[k].status = postern::DnsLookupStatus::kOk;
      answers[k].values = {questions[k].name == kOurKeyName ? our_record_ : input_record_};
    }
    return answers;
  }
  int batches = 0;

 private:
  std::string input_record_;
  std::string our_record_;
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

postern::ArcResult verify(const Message& message, InputDns& dns, size_t chunk) {
  postern::ArcVerifier verifier(message.headers, postern::ArcVerifyOptions{});
  for (size_t at = 0; at < message.body.size(); at += chunk) {
    verifier.add_body(message.body.substr(at, chunk));
  }
  int batches = dns.batches;
  postern::ArcResult result = verifier.finish(dns);
  check(dns.batches - batches <= 1);
  std::string resinfo = result.resinfo("192.0.2.1");
  check(resinfo.rfind("arc=", 0) == 0 && resinfo.find_first_of("\r\n") == std::string::npos);
  if (result.status == postern::ArcChainStatus::kFail) check(!result.reason.empty());
  if (result.status == postern::ArcChainStatus::kPass) {
    check(result.instances >= 1 && result.instances <= postern::kMaxArcInstances);
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const postern::DkimPrivateKey key = postern::load_dkim_private_key(kKeyPem).value();
  static const std::string our_record = "v=DKIM1; k=ed25519; p=" + key.public_key_base64();
  if (size == 0 || size > 65536) return 0;
  const size_t chunk = 1 + data[0];
  std::string_view raw(reinterpret_cast<const char*>(data) + 1, size - 1);
  Message message = split(raw);
  std::string record;
  if (size_t marker = message.body.find("\n====="); marker != std::string_view::npos) {
    std::string_view rest = message.body.substr(marker + 6);
    if (!rest.empty() && rest.front() == '\r') rest.remove_prefix(1);
    if (!rest.empty() && rest.front() == '\n') rest.remove_prefix(1);
    record = std::string(rest);
    message.body = message.body.substr(0, marker + 1);
  } else {
    record = "v=DKIM1; p=" + std::string(raw.substr(0, raw.find('\n')));
  }

  // The parsers on their own, on every ARC field.
  postern::ArcSetsGathered gathered = postern::gather_arc_sets(message.headers);
  check(gathered.failed == !gathered.reason.empty());
  check(gathered.sets.size() <= postern::kMaxArcInstances);
  for (size_t k = 0; k < gathered.sets.size(); ++k) check(gathered.sets[k].instance == k + 1);
  for (const postern::DkimHeader& header : message.headers) {
    (void)postern::parse_arc_seal(header.value);
    (void)postern::parse_arc_message_signature(header.value);
    (void)postern::parse_arc_results_instance(header.value);
  }

  InputDns dns(record, our_record);
  postern::ArcResult chain = verify(message, dns, chunk);
  if (chain.newest_seal_failed) return 0;
  postern::ArcSealOptions options;
  options.timestamp = 1700000000;
  postern::ArcSealer sealer(postern::ArcSealingKey{"example.org", "fuzzseal", &key}, options);
  sealer.add_body(message.body);
  postern::Result<postern::ArcSetValues> set =
      sealer.finish(message.headers, "mx.example.net", {chain.resinfo("192.0.2.1")}, chain);
  if (!set) {
    check(set.error().kind == postern::ErrorKind::kLimit);  // a full chain; nothing else
    return 0;
  }
  std::vector<postern::DkimHeader> fields = set->fields();
  message.headers.insert(message.headers.begin(), fields.begin(), fields.end());
  postern::ArcResult sealed = verify(message, dns, chunk);
  if (chain.status == postern::ArcChainStatus::kFail) {
    check(sealed.status == postern::ArcChainStatus::kFail && sealed.newest_seal_failed);
  } else {
    if (sealed.status != postern::ArcChainStatus::kPass) std::abort();
    check(sealed.instances == set->instance);
  }
  return 0;
}
