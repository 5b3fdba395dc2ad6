// libFuzzer target for lib/dkim/dkim_key_store.cpp: what reaches it from outside. The first
// byte picks the job, the rest is the input:
//   0  a domain and a selector from the command line (split at the first NUL): when both are
//      accepted they must be harmless as path components (no '/', no "..", no leading '.', the
//      length limits hold) and key_path must stay inside the key folder;
//   1  a key file's text: dkim_public_key_from_pem either refuses it or gives a DKIM record of
//      an RSA or Ed25519 key ("v=DKIM1; k=rsa|ed25519; p=<base64>");
//   2  a TXT text: the zone character-strings are each at most 255 bytes and, unescaped and
//      joined, give the text back.
// Anything else: the same input through all three.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/dkim/dkim_key_store.hpp"

namespace {

using namespace postern;

void check(bool condition) {
  if (!condition) std::abort();
}

void names(std::string_view input) {
  const size_t nul = input.find('\0');
  const std::string_view domain = input.substr(0, nul);
  const std::string_view selector =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  const bool domain_ok = is_valid_dkim_domain(domain);
  const bool selector_ok = is_valid_dkim_selector(selector);
  if (domain_ok) {
    check(domain.size() <= kMaxDkimDomainBytes && domain.find('/') == std::string_view::npos);
    check(domain.find("..") == std::string_view::npos && domain.front() != '.');
  }
  if (selector_ok) {
    check(selector.size() <= kMaxDkimSelectorBytes);
    check(selector.find_first_of("/.") == std::string_view::npos);
  }
  if (domain_ok && selector_ok) {
    DkimKeyStore store("/keys");
    for (bool retired : {false, true}) {
      const std::string path = store.key_path(domain, selector, retired);
      check(path.rfind("/keys/", 0) == 0 && path.find("/../") == std::string::npos);
      check(path.find("/./") == std::string::npos);
    }
  }
}

void key_text(std::string_view input) {
  Result<DkimPublishedKey> key = dkim_public_key_from_pem(input);
  if (!key.ok()) return;
  const std::string& record = key->record;
  const bool rsa = record.rfind("v=DKIM1; k=rsa; p=", 0) == 0;
  const bool ed25519 = record.rfind("v=DKIM1; k=ed25519; p=", 0) == 0;
  check(rsa == (key->type == DkimKeyType::kRsa));
  check(ed25519 == (key->type == DkimKeyType::kEd25519));
  check(key->bits > 0);
  const std::string_view base64 = std::string_view(record).substr(record.find("p=") + 2);
  check(!base64.empty() && base64.size() % 4 == 0);
}

void txt(std::string_view input) {
  const std::string zone = zone_character_strings(input);
  std::string joined;
  size_t at = 0;
  while (at < zone.size()) {
    if (!joined.empty() || at > 0) {
      check(zone[at] == ' ');
      ++at;
    }
    check(zone[at] == '"');
    ++at;
    size_t bytes = 0;
    while (zone[at] != '"') {
      if (zone[at] == '\\') ++at;
      joined += zone[at++];
      ++bytes;
    }
    ++at;
    check(bytes <= kMaxTxtCharacterStringBytes);
  }
  check(joined == input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {
    case 0:
      names(input);
      break;
    case 1:
      key_text(input);
      break;
    case 2:
      txt(input);
      break;
    default:
      names(input);
      key_text(input);
      txt(input);
  }
  return 0;
}
