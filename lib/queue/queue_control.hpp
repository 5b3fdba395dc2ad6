// The admin's control requests to postern-qmgr over private/qmgr (`postern queue delete|hold|
// release|requeue|flush`), their replies, and the --from/--to matching both sides use. Encoded as
// lib/queue/ipc.hpp attribute records:
//   request=delete|hold|release|requeue  queue_id=ID (1 to kMaxControlIds, no repeats)
//           [sender=ADDR] [recipient=ADDR]  (re-checked by qmgr: a message that no longer
//                                            matches is "skipped")
//     reply: status=ok count=N, then per queue ID, in request order:
//            queue_id=ID result=done|not_found|skipped|failed [reason=TEXT]
//   request=flush [domain=DOMAIN]   reply: status=ok count=N
//   any request qmgr cannot decode: reply status=error reason=TEXT
// Written by the `postern` command, read by qmgr (which trusts nothing in it: every ID must have
// the queue ID shape, every value is bounded) and the other way round for replies (the CLI checks
// that each result names an ID it asked about). Lives in lib/ because both sides need it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern {

inline constexpr size_t kMaxControlIds = 1000;           // queue IDs in one request
inline constexpr size_t kMaxControlAddressBytes = 1000;  // sender=, recipient=, domain=
inline constexpr size_t kMaxControlReasonBytes = 300;    // reason= in a reply

enum class ControlAction { kDelete, kHold, kRelease, kRequeue };
std::string_view control_action_name(ControlAction action);  // "delete", ...

// --from / --to: an address compared with the local part as written and the domain without
// regard to case. "" or "<>" means the null sender (bounces).
struct QueueMatch {
  std::optional<std::string> sender;
  std::optional<std::string> recipient;  // any pending recipient
  bool empty() const { return !sender && !recipient; }
};
bool address_matches(std::string_view address, std::string_view wanted);
bool envelope_matches(const QueueEnvelope& envelope, const QueueMatch& match);
// A pending recipient whose domain is domain (case-insensitive): `queue flush --domain`.
bool has_pending_recipient_in(const QueueEnvelope& envelope, std::string_view domain);

struct ControlRequest {
  ControlAction action = ControlAction::kDelete;
  std::vector<std::string> queue_ids;
  QueueMatch match;
};

enum class ControlOutcome { kDone, kNotFound, kSkipped, kFailed };
std::string_view control_outcome_name(ControlOutcome outcome);

struct ControlResult {
  std::string queue_id;
  ControlOutcome outcome = ControlOutcome::kFailed;
  std::string reason;  // why not, or how ("when its delivery attempt returns")
};

struct FlushRequest {
  std::optional<std::string> domain;
};

// Is this request one of the control requests (delete, hold, release, requeue)?
bool is_control_request(std::string_view request_name);

AttrRecord encode_control_request(const ControlRequest& request);
// Errors: a missing or unknown action, no queue ID, too many, a malformed or repeated one, an
// address too long.
Result<ControlRequest> decode_control_request(const AttrRecord& record);

AttrRecord encode_control_reply(const std::vector<ControlResult>& results);
// Errors: status not ok (with qmgr's reason), a result for an ID not asked about or twice, a
// missing result, an unknown outcome.
Result<std::vector<ControlResult>> decode_control_reply(const AttrRecord& record,
                                                        const ControlRequest& sent);

AttrRecord encode_flush_request(const FlushRequest& request);
Result<FlushRequest> decode_flush_request(const AttrRecord& record);

// status=error reason=TEXT (cut to kMaxControlReasonBytes).
AttrRecord control_error_reply(std::string_view reason);

}  // namespace postern
