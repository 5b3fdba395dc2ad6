// `postern queue list --json` and `postern queue show ID --json`: the queue as one JSON document
// (nlohmann-json) for scripts. Runs in the `postern` command; reads queue files with QueueFile
// (bounded records; a damaged file becomes an entry with "readable": false and its error) and
// defer/<ID> with the lenient, bounded parser. Strings are the queue's bytes (invalid UTF-8 is
// replaced when printed); at most kMaxShownRecipients recipients per message, the rest counted.
//
// A message:
//   {"queue_id", "folder" (incoming|active|deferred|hold), "readable": true, "size" (bytes of
//    the message), "arrival_time" (unix seconds), "arrival_time_iso" (UTC, ISO 8601),
//    "sender" ("" for the null sender), "attempts", "next_attempt" and "next_attempt_iso" (null
//    before the first deferral), "pending_action" ("delete"|"hold"|null: asked for while a
//    delivery attempt was in flight), "recipients": [{"address", "status" (pending|done),
//    "deferral": {"dsn", "reason"} or null}], "recipients_not_shown"}
//   unreadable: {"queue_id", "folder", "readable": false, "error"}
// list: {"messages": [...], "totals": {"messages", "unreadable", "bytes", "by_folder":
//   {"incoming": N, ...}}}; only pending recipients are listed (as mailq does).
// show: the message (every recipient, done ones too) plus "attributes" {name: value} and
//   "message" (the text, CRLF as LF).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {

// "2026-12-07T17:00:00Z".
std::string iso8601_utc(int64_t unix_seconds);

Result<nlohmann::json> queue_list_json(const QueueLayout& layout);
// Errors: not a queue ID (parse), not in the queue (not found), unreadable (parse).
Result<nlohmann::json> queue_show_json(const QueueLayout& layout, std::string_view queue_id);

}  // namespace postern
