// One delivery request (from qmgr, see lib/queue/ipc.hpp) carried out: the queue file is opened
// read-only, its message streamed once into every mailbox's Maildir, and one result per
// recipient is returned. Runs in postern-delivery. Trusts qmgr's request only as far as it
// checks it: the queue file must be a queue ID under $queue_directory/active/, mailbox names
// must not leave $virtual_mailbox_base, and the request is bounded by the IPC record limits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/queue/deliver_request.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/base/result.hpp"

namespace postern {

struct DeliverySettings {
  std::string mail_base;   // $virtual_mailbox_base
  std::string active_dir;  // $queue_directory/active: the only place a request may point to
  std::string hostname;    // $myhostname, for Maildir names
};

using DeliveryRecipient = DeliverRecipient;
using DeliveryRequest = DeliverRequest;

// Checks the request's shape (lib/queue/deliver_request): request=deliver, a queue ID, a path inside
// active_dir named after it, each rcpt followed by its index and at least one mailbox.
inline Result<DeliveryRequest> parse_delivery_request(const AttrRecord& record,
                                                      const DeliverySettings& settings) {
  return parse_deliver_request(record, settings.active_dir, DeliverService::kDelivery);
}

// Delivers and returns the reply: per recipient, in order, index status dsn reason.
AttrRecord deliver_request(const DeliveryRequest& request, const DeliverySettings& settings);

}  // namespace postern
