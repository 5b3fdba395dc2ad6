// The request=deliver record qmgr sends to postern-delivery, postern-relay and postern-local (lib/queue/ipc.hpp
// lists its attributes), checked by the service that receives it before anything is opened:
// request=deliver, a queue ID, the path $queue_directory/active/<queue ID> and nothing else,
// a sender (may be empty: the null sender), at least one rcpt, each followed by its index
// (a decimal number, no sign) and, for delivery, by at least one mailbox; for relay a nexthop.
// Trusts only local peers that can reach the private sockets, and even then only what it
// checked; the counts are bounded by the IPC record limits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/queue/ipc.hpp"
#include "lib/base/result.hpp"

namespace postern {

struct DeliverRecipient {
  std::string address;
  int64_t index = -1;                  // the recipient's position in the queue file
  std::vector<std::string> mailboxes;  // delivery: the resolved mailboxes "user@domain"
};

struct DeliverRequest {
  std::string queue_id;
  std::string path;
  std::string sender;
  std::string nexthop;  // relay only
  std::vector<DeliverRecipient> recipients;
};

enum class DeliverService {
  kDelivery,  // every rcpt needs a mailbox; no nexthop
  kRelay,     // a nexthop is required; mailboxes are not used
  kLocal,     // postern-local: rcpt and index only (the address is resolved there)
};

Result<DeliverRequest> parse_deliver_request(const AttrRecord& record,
                                             const std::string& active_dir,
                                             DeliverService service);

}  // namespace postern
