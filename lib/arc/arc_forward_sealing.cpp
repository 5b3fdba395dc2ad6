// Forwarded copies sealed with the keys of dkim_key_directory (see arc_forward_sealing.hpp).
// One log line per copy; the texts logged are ours (domains we hold keys for, our reasons).
#include "lib/arc/arc_forward_sealing.hpp"

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"

namespace postern {

ArcForwardSealing::ArcForwardSealing(bool enabled, const DkimSigningKeys* keys,
                                     std::string authserv_id)
    : enabled_(enabled), keys_(keys), authserv_id_(std::move(authserv_id)) {}

bool ArcForwardSealing::can_seal_for(std::string_view recipient_domain) const {
  if (!enabled_ || keys_ == nullptr) return false;
  std::string signing_domain = keys_->signing_domain_for(ascii_lowercase(recipient_domain));
  return !signing_domain.empty() && keys_->rsa_key_for(signing_domain) != nullptr;
}

std::string ArcForwardSealing::seal(std::string_view queue_id, std::string_view recipient_domain,
                                    const ArcChunkReader& message,
                                    const std::vector<DkimHeader>& extra_headers,
                                    int64_t now) const {
  if (!enabled_) return {};
  std::string domain = ascii_lowercase(recipient_domain);
  std::string signing_domain = keys_ ? keys_->signing_domain_for(domain) : std::string();
  const DkimSigningKey* key = signing_domain.empty() ? nullptr : keys_->rsa_key_for(signing_domain);
  if (key == nullptr) {
    log::info("{}: arc-seal=none reason=\"no RSA key for {}\"", queue_id, domain);
    return {};
  }
  ArcForwardSealRequest request;
  request.authserv_id = authserv_id_;
  request.key = ArcSealingKey{signing_domain, key->selector, &key->key};
  request.options.timestamp = now;
  Result<ArcForwardSeal> sealed = arc_seal_forward_message(message, extra_headers, request);
  if (!sealed) {
    log::warning("{}: arc-seal=error reason=\"{}\" (forwarded unsealed)", queue_id,
                 sealed.error().describe());
    return {};
  }
  if (!sealed->sealed) {
    log::info("{}: arc-seal=none reason=\"{}\"", queue_id, sealed->why_not);
    return {};
  }
  log::info("{}: arc-seal=i={} cv={} d={} s={}", queue_id, sealed->instance,
            arc_chain_status_name(sealed->chain_status), signing_domain, key->selector);
  return std::move(sealed->prepend);
}

}  // namespace postern
