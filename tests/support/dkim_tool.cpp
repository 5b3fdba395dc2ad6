// dkim_tool: a test-only command line over lib/dkim, for tests/peer/test_dkim_interop.py, so
// that other implementations can check what our signer writes (and our verifier can be run on
// a message file). Reads the message on stdin (LF or CRLF lines); trusts its caller.
//
//   dkim_tool sign --key PEM --domain D --selector S [--canon H/B] [--time T] < msg
//       writes the message with our DKIM-Signature on top (CRLF lines)
//   dkim_tool record --key PEM
//       writes the key's TXT record text ("v=DKIM1; k=...; p=...")
//   dkim_tool verify --zone FILE [--time T] < msg
//       verifies with keys from a zone file ("<name>. IN TXT "..." ..." lines, as RFC 8463's)
//       and writes one resinfo line per signature; exit 0 when one passes, 1 otherwise.
//       (A --resolver option comes once lib/net has a DnsLookup over a resolver address.)
// Exit 2 on a usage or input error.
#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "lib/dkim/dkim_signer.hpp"
#include "lib/dkim/dkim_verifier.hpp"
#include "tests/lib/dkim/dkim_test_support.hpp"

namespace {

bool parse_canon_option(const std::string& text, postern::DkimSignOptions& options) {
  std::optional<postern::DkimCanonPair> canon = postern::parse_dkim_canonicalization(text);
  if (!canon) return false;
  options.header_canon = canon->header;
  options.body_canon = canon->body;
  return true;
}

int usage() {
  std::cerr << "usage: dkim_tool sign --key PEM --domain D --selector S [--canon H/B] [--time T]\n"
               "       dkim_tool record --key PEM\n"
               "       dkim_tool verify --zone FILE [--time T]\n";
  return 2;
}

std::string to_crlf(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string command = argv[1];
  std::map<std::string, std::string> options;
  for (int i = 2; i + 1 < argc; i += 2) options[argv[i]] = argv[i + 1];
  if ((argc - 2) % 2 != 0) return usage();
  int64_t now = options.count("--time") ? std::stoll(options["--time"]) : std::time(nullptr);

  if (command == "sign" || command == "record") {
    if (!options.count("--key")) return usage();
    std::string pem = postern::dkim_test::read_file(options["--key"]);
    postern::Result<postern::DkimPrivateKey> key = postern::load_dkim_private_key(pem);
    if (!key) {
      std::cerr << "dkim_tool: " << key.error().message << "\n";
      return 2;
    }
    if (command == "record") {
      std::cout << "v=DKIM1; k="
                << (key->type() == postern::DkimKeyType::kEd25519 ? "ed25519" : "rsa")
                << "; p=" << key->public_key_base64() << "\n";
      return 0;
    }
    if (!options.count("--domain") || !options.count("--selector")) return usage();
    postern::DkimSignOptions sign_options;
    sign_options.timestamp = now;
    if (options.count("--canon") && !parse_canon_option(options["--canon"], sign_options)) {
      return usage();
    }
    std::string raw = to_crlf(std::string(std::istreambuf_iterator<char>(std::cin), {}));
    postern::dkim_test::SplitMessage message = postern::dkim_test::parse_message(raw);
    postern::DkimSigner signer(
        {postern::DkimSigningIdentity{options["--domain"], options["--selector"], &*key, ""}},
        sign_options);
    signer.add_body(message.body);
    postern::Result<std::vector<std::string>> values = signer.finish(message.headers);
    if (!values) {
      std::cerr << "dkim_tool: " << values.error().message << "\n";
      return 2;
    }
    for (const std::string& value : *values) std::cout << "DKIM-Signature:" << value << "\r\n";
    std::cout << raw;
    return 0;
  }

  if (command == "verify") {
    if (!options.count("--zone")) return usage();
    postern::dkim_test::ZoneDns dns;
    dns.load_zone_file(postern::dkim_test::read_file(options["--zone"]));
    std::string raw = to_crlf(std::string(std::istreambuf_iterator<char>(std::cin), {}));
    postern::dkim_test::SplitMessage message = postern::dkim_test::parse_message(raw);
    postern::DkimVerifyOptions verify_options;
    verify_options.now = now;
    postern::DkimVerifier verifier(message.headers, verify_options);
    verifier.add_body(message.body);
    bool pass = false;
    for (const postern::DkimResult& result : verifier.finish(dns)) {
      std::cout << result.resinfo() << "\n";
      pass = pass || result.status == postern::DkimStatus::kPass;
    }
    return pass ? 0 : 1;
  }
  return usage();
}
