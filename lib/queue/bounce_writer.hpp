// Writes a bounce (RFC 3464 DSN, lib/queue/dsn.hpp) as a new queue file in incoming/: null sender,
// the notified addresses as recipients, committed (fsync, rename, directory fsync) before the
// caller marks the failed recipients done. Used by postern-qmgr, and by postern-pickup for mail
// a milter refused after sendmail had said yes. Reads the original message's
// header section from its queue file, at most kMaxDsnHeaderBytes of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/queue/dsn.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"
#include "lib/base/result.hpp"

namespace postern {

// Attribute qmgr puts on a bounce it sends to postmaster (a report about a failed bounce): when
// that one fails too, it is logged and dropped instead of bouncing again.
inline constexpr std::string_view kPostmasterCopyAttribute = "postmaster_copy";
// Attribute naming the message a bounce reports on.
inline constexpr std::string_view kBounceOfAttribute = "bounce_of";

struct BounceRequest {
  std::vector<std::string> notify_to;  // the original sender, or the postmaster's addresses
  bool postmaster_copy = false;
  std::vector<DsnRecipient> recipients;
  std::string reporting_mta;
  int64_t now = 0;
};

// Returns the new queue ID once the bounce is durable in incoming/.
Result<std::string> write_bounce(const QueueLayout& layout, const QueueFile& original,
                                 const BounceRequest& request);

}  // namespace postern
