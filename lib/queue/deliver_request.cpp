// Checks qmgr's request=deliver records for delivery and relay (see deliver_request.hpp).
#include "lib/queue/deliver_request.hpp"

#include <charconv>

#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {

Result<DeliverRequest> parse_deliver_request(const AttrRecord& record,
                                             const std::string& active_dir,
                                             DeliverService service) {
  DeliverRequest request;
  bool seen_request = false;
  bool seen_id = false;
  bool seen_path = false;
  bool seen_sender = false;
  bool seen_nexthop = false;
  for (const auto& [name, value] : record.attributes()) {
    if (name == "request") {
      if (value != "deliver") return Error::parse("unknown request " + log::printable(value));
      seen_request = true;
    } else if (name == "queue_id") {
      request.queue_id = value;
      seen_id = true;
    } else if (name == "path") {
      request.path = value;
      seen_path = true;
    } else if (name == "sender") {
      request.sender = value;
      seen_sender = true;
    } else if (name == "nexthop" && service == DeliverService::kRelay) {
      request.nexthop = value;
      seen_nexthop = true;
    } else if (name == "rcpt") {
      request.recipients.push_back(DeliverRecipient{value, -1, {}});
    } else if (name == "index") {
      if (request.recipients.empty()) return Error::parse("index before rcpt");
      int64_t index = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), index);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || index < 0) {
        return Error::parse("bad index");
      }
      request.recipients.back().index = index;
    } else if (name == "mailbox" && service == DeliverService::kDelivery) {
      if (request.recipients.empty()) return Error::parse("mailbox before rcpt");
      request.recipients.back().mailboxes.push_back(value);
    }  // other names: room for later fields, ignored
  }
  if (!seen_request || !seen_id || !seen_path || !seen_sender) {
    return Error::parse("request lacks request, queue_id, path or sender");
  }
  if (service == DeliverService::kRelay && !seen_nexthop) {
    return Error::parse("relay request lacks nexthop");
  }
  if (!is_queue_id(request.queue_id)) return Error::parse("bad queue_id");
  if (request.path != active_dir + "/" + request.queue_id) {
    return Error::parse("queue file path outside the active queue");
  }
  if (request.recipients.empty()) return Error::parse("no recipients");
  for (const DeliverRecipient& rcpt : request.recipients) {
    if (rcpt.index < 0) return Error::parse("rcpt without index");
    if (service == DeliverService::kDelivery && rcpt.mailboxes.empty()) {
      return Error::parse("rcpt without mailbox");
    }
  }
  return request;
}

}  // namespace postern
