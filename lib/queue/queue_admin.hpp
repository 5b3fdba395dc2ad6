// What the admin's queue commands (delete, hold, release, requeue) do to the files: the same
// few operations for postern-qmgr (which runs them inside its event loop, so no file moves under
// it) and for the `postern` command when qmgr is not running. Every change is a rename(2) with
// RENAME_NOREPLACE (a message is in the old folder or the new one, never in none, and never
// replaces another) or, for delete only, an unlink; sync() then fsyncs each folder touched, and
// only after it does anyone hear "done". Trusts the queue_directory path; a queue ID is used as
// a file name only when it has the queue ID shape.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/queue/queue_control.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {

// Bits of a queue file's 'S' flags word (beside queue_file.hpp's kScheduleDelayWarned), set by
// qmgr on a message in active/ while a delivery attempt is in flight, so that the admin's
// request survives a crash of qmgr. A file in active/ with kScheduleDeleteRequested is removed
// without any delivery the next time qmgr looks at it; with kScheduleHoldRequested it goes to
// hold/.
// release clears kScheduleHoldRequested.
inline constexpr uint32_t kScheduleDeleteRequested = 2;
inline constexpr uint32_t kScheduleHoldRequested = 4;

// The folders the admin's commands look in, in this order.
enum class QueueFolder { kIncoming, kActive, kDeferred, kHold };
inline constexpr QueueFolder kAdminFolders[] = {QueueFolder::kIncoming, QueueFolder::kActive,
                                                QueueFolder::kDeferred, QueueFolder::kHold};
std::string_view queue_folder_name(QueueFolder folder);  // "incoming", ...
std::string queue_folder_path(const QueueLayout& layout, QueueFolder folder);

class QueueEditor {
 public:
  explicit QueueEditor(QueueLayout layout) : layout_(std::move(layout)) {}

  // The folder the message is in now (a regular file named queue_id), or nullopt.
  std::optional<QueueFolder> locate(std::string_view queue_id) const;
  std::string path_of(QueueFolder folder, std::string_view queue_id) const;

  // Unlinks the message and its defer/ file. Not found: kNotFound.
  Status remove(QueueFolder folder, std::string_view queue_id);
  // Renames the message from one folder to another (never over an existing file); its defer/
  // file is dropped when it goes to incoming/ (routed afresh). Not found: kNotFound.
  Status move(QueueFolder from, QueueFolder to, std::string_view queue_id);
  // Clears flag bits of the 'S' record in place (fdatasync) when any of them is set.
  Status clear_flags(QueueFolder folder, std::string_view queue_id, uint32_t flags);
  // fsync of every folder changed since the last sync.
  Status sync();

 private:
  QueueLayout layout_;
  std::set<std::string> touched_;
};

// One admin request on one message that nobody is delivering (qmgr calls it for every message
// not in flight, the CLI for every message when qmgr is not running): find it, re-check the
// match (a file that no longer matches is kSkipped), then
//   delete: unlink; hold: to hold/ (kDone "already on hold" when there);
//   release: hold/ to incoming/, kScheduleHoldRequested cleared (kNotFound when not on hold);
//   requeue: to incoming/ (from hold/ too, which releases it, as postsuper -r does).
// Not synced: call editor.sync() before telling anyone. from: where the message was.
struct AppliedChange {
  ControlResult result;
  std::optional<QueueFolder> from;
  std::string_view done_text;  // "removed", "placed on hold", ... (for the log line)
};
AppliedChange apply_control(QueueEditor& editor, ControlAction action, std::string_view queue_id,
                            const QueueMatch& match);

}  // namespace postern
