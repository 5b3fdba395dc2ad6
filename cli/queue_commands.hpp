// `postern queue list|show|flush` in text: the mail queue for the admin. list walks incoming/,
// active/, deferred/ and hold/ (mailq's shape: queue ID, size, arrival time, sender, then each
// pending recipient under the reason it was last deferred, from defer/<ID>); show prints one
// message's envelope and text; flush asks qmgr (private/qmgr, request=flush [domain=D]) to retry
// deferred messages now. (--json: queue_json.hpp; delete, hold, release, requeue:
// queue_change.hpp.)
// Runs as the `postern` command (root or mail_owner). Trusts main.cf; treats queue files and
// defer/ files as possibly damaged (a file that does not parse is listed as "unreadable", never
// a crash). Bounded: each printed field is made printable and cut (kMaxShownFieldBytes), at
// most kMaxShownRecipients recipients per message are listed.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern {

inline constexpr size_t kMaxShownFieldBytes = 300;
inline constexpr size_t kMaxShownRecipients = 1000;
inline constexpr int kFlushTimeoutMs = 10000;

// Receives the output piece by piece (stdout in the command, a string in the tests).
using Emit = std::function<void(std::string_view)>;

struct QueueListTotals {
  size_t messages = 0;
  size_t unreadable = 0;
  uint64_t bytes = 0;
};

// mailq-style listing of every queued message, oldest queue ID first within each folder. A queue
// folder that exists but cannot be read is an error, with nothing printed.
Result<QueueListTotals> list_queue(const QueueLayout& layout, const Emit& emit);

// Envelope (folder, arrival, sender, attributes, every recipient with its state and deferral
// reason), then the message text (CRLF shown as LF). Errors: not found, or unreadable.
Status show_queue_message(const QueueLayout& layout, std::string_view queue_id, const Emit& emit);

// request=flush [domain=D] to qmgr; the number of deferred messages it made due (with a domain:
// those with a pending recipient in it).
Result<int64_t> flush_queue(const QueueLayout& layout, int timeout_ms = kFlushTimeoutMs);
Result<int64_t> flush_queue(const QueueLayout& layout, const std::optional<std::string>& domain,
                            int timeout_ms = kFlushTimeoutMs);

// The queue IDs in dir, sorted (IDs sort by arrival time); temporary files skipped; none when
// dir does not exist. A folder that exists but cannot be read is an error.
Result<std::vector<std::string>> queue_ids_in(const std::string& dir);

// address -> its last deferral (defer/<ID>, bounded and lenient); empty when there is none.
std::map<std::string, DeferReason> read_defer_reasons(const QueueLayout& layout,
                                                      std::string_view queue_id);

// "Mon Nov 23 06:44:28" in local time (mailq's arrival column).
std::string queue_time_text(int64_t unix_seconds);

}  // namespace postern
