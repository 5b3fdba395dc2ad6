// One request=deliver from qmgr to postern-local: every recipient (an address of mydestination)
// is expanded (recipient_expansion) and each resulting delivery made: a mailbox or a "/file"
// in a run_as child as the user (mailbox_delivery), a "|command" likewise (command_delivery),
// addresses outside our domains in one new queue file per recipient (lib/queue/expansion_file)
// with "Delivered-To: <recipient>" first. A recipient's result is the worst of its deliveries
// (deferred, then bounced, then sent); one with no delivery at all (an alias loop) bounces.
// Each delivery is logged in Postfix's shape (to=, orig_to=, relay=local, delay=, dsn=,
// status=). Runs in a postern-local worker thread, as root.
#pragma once

#include "lib/queue/deliver_request.hpp"
#include "lib/queue/ipc.hpp"
#include "local/local_settings.hpp"
#include "local/recipient_expansion.hpp"

namespace postern::local {

inline constexpr size_t kMaxDeliveredToScanBytes = 1 << 20;  // of the header section

// The reply record: index, status, dsn, reason per recipient, in request order.
AttrRecord deliver_local_request(const DeliverRequest& request, const LocalSettings& settings,
                                 const ExpansionSources& sources);

}  // namespace postern::local
