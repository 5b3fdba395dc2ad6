// The ARC set (RFC 8617 5.1) for a copy of a message that we forward (a virtual alias, an
// /etc/aliases entry or a .forward pointing outside), made once when the copy is written so
// that it leaves through relay as it is: the next hop can then trust what we found at receipt
// though the forward breaks SPF and perhaps DKIM. Knows nothing of queue files: the caller
// gives the header fields (arc_header_block.hpp reads them), a reader of the body's chunks,
// our authserv-id and the key. Used by postern-qmgr and postern-local.
//
// We seal only what we checked: the Authentication-Results that claims our authserv-id (the one
// postern-authmilter added at receipt; it removes forged ones) gives the AAR's resinfos and,
// from its arc= result, the chain's cv (none, pass or fail). Nothing is sealed, with a reason,
// when there is no such header, it does not parse or has no arc= result, the message's ARC
// fields no longer match that result, the newest seal already says cv=fail, or 50 sets exist
// (what lib/arc's sealer refuses). The message is hostile (bounded by lib/arc's and
// lib/authres' limits); the authserv-id, key and options are ours. The body is streamed, never
// kept.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/arc/arc_headers.hpp"
#include "lib/arc/arc_sealer.hpp"
#include "lib/base/result.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"

namespace postern {

// A reader calls the sink with each chunk in order and stops at the first error it returns.
using ArcChunkSink = std::function<Status(std::string_view)>;
using ArcChunkReader = std::function<Status(const ArcChunkSink&)>;

struct ArcForwardSealRequest {
  std::string authserv_id;  // authmilter_authserv_id: whose Authentication-Results we trust
  ArcSealingKey key;        // d=, s= and the (borrowed) private key
  ArcSealOptions options;   // set options.timestamp
};

struct ArcForwardSeal {
  bool sealed = false;
  // ARC-Seal, ARC-Message-Signature and ARC-Authentication-Results, in that order, folded, each
  // line ending in CRLF: to be put before the message's first header line. Empty when not sealed.
  std::string prepend;
  std::string why_not;  // when not sealed: why (ours, safe to log)
  uint32_t instance = 0;
  ArcChainStatus chain_status = ArcChainStatus::kNone;
};

// headers: the message as it will leave (including anything the caller prepends besides the
// seal). An error is a failure (the body could not be read, signing failed); a deliberate "no
// seal" is a success with sealed false.
Result<ArcForwardSeal> arc_seal_forward(const std::vector<DkimHeader>& headers,
                                        const ArcChunkReader& body,
                                        const ArcForwardSealRequest& request);

// The same for a whole message (header block and body), read twice: once up to the end of the
// header block, once for the body. extra_headers go above the message's own (a Delivered-To:
// line the caller prepends, as fields), so that the seal covers the copy as it leaves.
Result<ArcForwardSeal> arc_seal_forward_message(const ArcChunkReader& message,
                                                const std::vector<DkimHeader>& extra_headers,
                                                const ArcForwardSealRequest& request);

}  // namespace postern
