// DKIM signatures for a message of ours (see message_signing.hpp).
#include "authmilter/message_signing.hpp"

#include <ctime>

#include "authmilter/author_domain.hpp"
#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_signer.hpp"
#include "lib/dkim/dkim_signing_keys.hpp"

namespace postern::authmilter {
namespace {

class DkimMessageSigning final : public MessageSigning {
 public:
  DkimMessageSigning(std::string domain, std::vector<DkimSigningIdentity> identities,
                     DkimSignOptions options)
      : domain_(std::move(domain)), signer_(std::move(identities), std::move(options)) {}

  void body(std::string_view chunk) override { signer_.add_body(chunk); }

  Result<std::vector<std::string>> finish(const std::vector<HeaderField>& headers) override {
    return signer_.finish(headers);
  }

  const std::string& domain() const override { return domain_; }

 private:
  std::string domain_;
  DkimSigner signer_;
};

}  // namespace

std::unique_ptr<MessageSigning> MessageSigning::start(const AuthServices& services,
                                                      const std::vector<HeaderField>& headers,
                                                      const ClientFacts& client,
                                                      std::string& why_not) {
  std::string why_no_from;
  std::string author = author_domain(headers, why_no_from);
  std::string domain;
  if (!author.empty()) domain = services.keys->signing_domain_for(author);
  if (domain.empty()) {
    // The login's own domain: the signature does not align with From:, but it still says
    // which of our domains sent the message.
    size_t at = client.auth_authen.rfind('@');
    if (at != std::string::npos) {
      std::string login_domain = ascii_lowercase(client.auth_authen.substr(at + 1));
      if (services.keys->keys_for(login_domain) != nullptr) domain = login_domain;
    }
  }
  if (domain.empty()) {
    why_not = !author.empty() ? "no DKIM key for " + author : why_no_from;
    return nullptr;
  }
  const AuthmilterSettings& settings = *services.settings;
  std::vector<DkimSigningIdentity> identities;
  for (const DkimSigningKey& key : *services.keys->keys_for(domain)) {
    if (identities.size() == kMaxDkimSigningIdentities) break;
    identities.push_back(DkimSigningIdentity{domain, key.selector, &key.key, ""});
  }
  DkimSignOptions options;
  options.header_canon = settings.header_canon;
  options.body_canon = settings.body_canon;
  options.signed_headers = settings.signed_headers;
  options.oversigned_headers = settings.oversigned_headers;
  options.timestamp = static_cast<int64_t>(std::time(nullptr));
  return std::make_unique<DkimMessageSigning>(domain, std::move(identities), std::move(options));
}

}  // namespace postern::authmilter
