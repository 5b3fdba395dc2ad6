// The ARC seal of forwarded copies as postern-qmgr (virtual aliases) and postern-local
// (/etc/aliases and .forward) apply it: arc_sealing on or off, the key of the domain the mail
// was forwarded for (the original recipient's domain or its nearest parent with keys, its first
// RSA key: rsa-sha256 is what every ARC verifier knows), our authserv-id
// (authmilter_authserv_id), and one log line per copy saying what was done. Built once at start
// from keys loaded while the daemon could read dkim_key_directory; read-only afterwards. The
// message is hostile (arc_forward_seal.hpp bounds it); a failure to seal is logged and gives no
// seal, never a failed forward.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/arc/arc_forward_seal.hpp"
#include "lib/dkim/dkim_signing_keys.hpp"

namespace postern {

class ArcForwardSealing {
 public:
  // keys may be null (none loaded): nothing is sealed. Borrowed, must outlive this.
  ArcForwardSealing(bool enabled, const DkimSigningKeys* keys, std::string authserv_id);

  // The lines to put above the forwarded copy (see arc_seal_forward), or "" when it is not
  // sealed. queue_id names the original in the log line; recipient_domain is the original
  // recipient's; extra_headers are the fields the caller puts between the seal and the message.
  std::string seal(std::string_view queue_id, std::string_view recipient_domain,
                   const ArcChunkReader& message, const std::vector<DkimHeader>& extra_headers,
                   int64_t now) const;

  bool enabled() const { return enabled_; }
  // Whether a copy forwarded for this domain would get a seal, given an Authentication-Results
  // of ours on it: sealing is on and the domain or a parent has an RSA key.
  bool can_seal_for(std::string_view recipient_domain) const;

 private:
  bool enabled_;
  const DkimSigningKeys* keys_;
  std::string authserv_id_;
};

}  // namespace postern
