// A delivery request from qmgr to postern-relay (lib/ipc.hpp: request=deliver queue_id path
// sender nexthop, then rcpt/index per recipient), checked before anything is opened: the queue
// file must be $queue_directory/active/<queue_id>, every rcpt has an index, and the counts are
// bounded by the IPC record limits. Trusts only what it checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/ipc.hpp"
#include "lib/result.hpp"

namespace postern::relay {

struct RelayRecipient {
  std::string address;
  int64_t index = -1;
};

struct RelayRequest {
  std::string queue_id;
  std::string path;
  std::string sender;
  std::string nexthop;
  std::vector<RelayRecipient> recipients;
};

Result<RelayRequest> parse_relay_request(const AttrRecord& record, const std::string& active_dir);

}  // namespace postern::relay
