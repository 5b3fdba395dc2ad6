// `postern queue delete|hold|release|requeue`: which messages (IDs, or --all/--from/--to by a
// walk of the queue folders), then the change: through postern-qmgr's control socket
// (private/qmgr, lib/queue/queue_control.hpp) in batches of kMaxControlIds, or, when qmgr is not
// running (no socket, or nobody listening on it), on the files directly with the same operations
// qmgr uses (lib/queue/queue_admin.hpp: renames and unlinks, folders fsynced). A qmgr that is
// there but does not answer in time is an error: then nothing is touched here, since it may
// still be working on the files. Runs in the `postern` command as root or mail_owner; reads
// queue files with QueueFile's bounds (a file that cannot be read never matches --from/--to).
#pragma once

#include <string>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/queue/queue_control.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {

inline constexpr int kControlTimeoutMs = 60000;  // one batch: up to kMaxControlIds renames

struct QueueSelection {
  std::vector<std::string> queue_ids;  // named on the command line
  bool all = false;                    // --all
  QueueMatch match;                    // --from / --to (both: both must match)
};

// The queue IDs the selection names, each once, in order. For --all, --from and --to: the
// messages in incoming/, active/, deferred/ and hold/ now (requeue --all leaves hold/ alone:
// a quarantine is released by name).
Result<std::vector<std::string>> select_messages(const QueueLayout& layout, ControlAction action,
                                                 const QueueSelection& selection);

struct QueueChange {
  bool qmgr_running = true;
  std::vector<ControlResult> results;  // one per queue ID, in order
};

// The change, through qmgr or on the files. An error (qmgr did not answer, or refused) comes with
// the results of the batches done before it in *partial.
Result<QueueChange> change_queue(const QueueLayout& layout, ControlAction action,
                                 const std::vector<std::string>& queue_ids, const QueueMatch& match,
                                 QueueChange* partial, int timeout_ms = kControlTimeoutMs);

// The same on the files, for when qmgr is not running.
std::vector<ControlResult> change_queue_files(const QueueLayout& layout, ControlAction action,
                                              const std::vector<std::string>& queue_ids,
                                              const QueueMatch& match);

// True when the error of an ipc_call means nobody serves the socket (rather than a slow qmgr).
bool qmgr_not_running(const Error& error);

}  // namespace postern
