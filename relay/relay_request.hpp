// A delivery request from qmgr to postern-relay: lib/queue/deliver_request checks it (request=deliver,
// queue file under active/, every rcpt with its index, a nexthop). Relay's names for it.
#pragma once

#include <string>

#include "lib/queue/deliver_request.hpp"

namespace postern::relay {

using RelayRecipient = DeliverRecipient;
using RelayRequest = DeliverRequest;

inline Result<RelayRequest> parse_relay_request(const AttrRecord& record,
                                                const std::string& active_dir) {
  return parse_deliver_request(record, active_dir, DeliverService::kRelay);
}

}  // namespace postern::relay
