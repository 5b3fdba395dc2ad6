// The admin's changes to queue files (see queue_admin.hpp): unlink, rename without replacing,
// a flag cleared in place, then one fsync per folder touched.
#include "lib/queue/queue_admin.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lib/queue/queue_file.hpp"

namespace postern {

std::string_view queue_folder_name(QueueFolder folder) {
  switch (folder) {
    case QueueFolder::kIncoming:
      return "incoming";
    case QueueFolder::kActive:
      return "active";
    case QueueFolder::kDeferred:
      return "deferred";
    case QueueFolder::kHold:
      return "hold";
  }
  return "?";
}

std::string queue_folder_path(const QueueLayout& layout, QueueFolder folder) {
  return layout.root + "/" + std::string(queue_folder_name(folder));
}

std::string QueueEditor::path_of(QueueFolder folder, std::string_view queue_id) const {
  return queue_folder_path(layout_, folder) + "/" + std::string(queue_id);
}

std::optional<QueueFolder> QueueEditor::locate(std::string_view queue_id) const {
  if (!is_queue_id(queue_id)) return std::nullopt;
  for (QueueFolder folder : kAdminFolders) {
    struct stat st {};
    if (::lstat(path_of(folder, queue_id).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      return folder;
    }
  }
  return std::nullopt;
}

Status QueueEditor::remove(QueueFolder folder, std::string_view queue_id) {
  if (!is_queue_id(queue_id)) return Error::parse("not a queue ID");
  const std::string path = path_of(folder, queue_id);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Error::not_found(std::string(queue_id) + ": not in the queue");
    return Error::system("unlink " + path);
  }
  touched_.insert(queue_folder_path(layout_, folder));
  const std::string defer = layout_.defer() + "/" + std::string(queue_id);
  if (::unlink(defer.c_str()) != 0 && errno != ENOENT) return Error::system("unlink " + defer);
  return Status::success();
}

Status QueueEditor::move(QueueFolder from, QueueFolder to, std::string_view queue_id) {
  if (!is_queue_id(queue_id)) return Error::parse("not a queue ID");
  if (from == to) return Status::success();
  const std::string from_path = path_of(from, queue_id);
  const std::string to_path = path_of(to, queue_id);
  if (::renameat2(AT_FDCWD, from_path.c_str(), AT_FDCWD, to_path.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == ENOENT) return Error::not_found(std::string(queue_id) + ": not in the queue");
    return Error::system("rename " + from_path + " to " + std::string(queue_folder_name(to)) + "/");
  }
  touched_.insert(queue_folder_path(layout_, from));
  touched_.insert(queue_folder_path(layout_, to));
  if (to == QueueFolder::kIncoming) {
    const std::string defer = layout_.defer() + "/" + std::string(queue_id);
    (void)::unlink(defer.c_str());  // information only; qmgr writes a new one if it defers
  }
  return Status::success();
}

Status QueueEditor::clear_flags(QueueFolder folder, std::string_view queue_id, uint32_t flags) {
  Result<QueueFile> file = QueueFile::open(path_of(folder, queue_id), true);
  if (!file) return file.error();
  const QueueEnvelope& envelope = file->envelope();
  if ((envelope.schedule_flags & flags) == 0) return Status::success();
  return file->update_schedule(envelope.attempts, envelope.next_attempt,
                               envelope.schedule_flags & ~flags);
}

Status QueueEditor::sync() {
  Status result = Status::success();
  for (const std::string& dir : touched_) {
    if (Status synced = fsync_directory(dir); !synced && result) result = synced;
  }
  touched_.clear();
  return result;
}

AppliedChange apply_control(QueueEditor& editor, ControlAction action, std::string_view queue_id,
                            const QueueMatch& match) {
  AppliedChange change;
  ControlResult& result = change.result;
  result.queue_id = std::string(queue_id);
  result.outcome = ControlOutcome::kDone;
  std::optional<QueueFolder> folder = editor.locate(queue_id);
  if (!folder) {
    result.outcome = ControlOutcome::kNotFound;
    result.reason =
        action == ControlAction::kRelease ? "not on hold: not in the queue" : "not in the queue";
    return change;
  }
  change.from = folder;
  if (!match.empty()) {
    Result<QueueFile> file = QueueFile::open(editor.path_of(*folder, queue_id), false);
    if (!file) {
      result.outcome = ControlOutcome::kFailed;
      result.reason = file.error().describe();
      return change;
    }
    if (!envelope_matches(file->envelope(), match)) {
      result.outcome = ControlOutcome::kSkipped;
      result.reason = "no longer matches";
      return change;
    }
  }
  Status done = Status::success();
  switch (action) {
    case ControlAction::kDelete:
      done = editor.remove(*folder, queue_id);
      change.done_text = "removed";
      break;
    case ControlAction::kHold:
      if (*folder == QueueFolder::kHold) {
        result.reason = "already on hold";
        return change;
      }
      done = editor.move(*folder, QueueFolder::kHold, queue_id);
      change.done_text = "placed on hold";
      break;
    case ControlAction::kRelease:
      if (*folder != QueueFolder::kHold) {
        result.outcome = ControlOutcome::kNotFound;
        result.reason = fmt::format("not on hold (in {}/)", queue_folder_name(*folder));
        return change;
      }
      done = editor.clear_flags(QueueFolder::kHold, queue_id, kScheduleHoldRequested);
      if (done) done = editor.move(QueueFolder::kHold, QueueFolder::kIncoming, queue_id);
      change.done_text = "released from hold";
      break;
    case ControlAction::kRequeue:
      if (*folder == QueueFolder::kIncoming) {
        result.reason = "already in incoming/";
        return change;
      }
      if (*folder == QueueFolder::kHold) {
        done = editor.clear_flags(QueueFolder::kHold, queue_id, kScheduleHoldRequested);
      }
      if (done) done = editor.move(*folder, QueueFolder::kIncoming, queue_id);
      change.done_text = "requeued";
      break;
  }
  if (!done) {
    result.outcome = done.error().kind == ErrorKind::kNotFound ? ControlOutcome::kNotFound
                                                               : ControlOutcome::kFailed;
    result.reason = done.error().describe();
    change.done_text = {};
  }
  return change;
}

}  // namespace postern
