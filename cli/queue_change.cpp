// The changing queue commands' selection and transport (see queue_change.hpp).
#include "cli/queue_change.hpp"

#include <algorithm>
#include <cerrno>
#include <set>

#include "cli/queue_commands.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/queue/queue_admin.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern {

bool qmgr_not_running(const Error& error) {
  return error.kind == ErrorKind::kSystem &&
         (error.sys_errno == ECONNREFUSED || error.sys_errno == ENOENT);
}

Result<std::vector<std::string>> select_messages(const QueueLayout& layout, ControlAction action,
                                                 const QueueSelection& selection) {
  std::vector<std::string> selected;
  std::set<std::string> seen;
  for (const std::string& queue_id : selection.queue_ids) {
    if (seen.insert(queue_id).second) selected.push_back(queue_id);
  }
  if (!selection.all && selection.match.empty()) return selected;
  for (QueueFolder folder : kAdminFolders) {
    if (folder == QueueFolder::kHold && action == ControlAction::kRequeue) continue;
    const std::string dir = queue_folder_path(layout, folder);
    Result<std::vector<std::string>> ids = queue_ids_in(dir);
    if (!ids) return ids.error();
    for (const std::string& queue_id : *ids) {
      if (seen.count(queue_id)) continue;
      if (!selection.match.empty()) {
        Result<QueueFile> file = QueueFile::open(dir + "/" + queue_id, false);
        if (!file || !envelope_matches(file->envelope(), selection.match)) continue;
      }
      seen.insert(queue_id);
      selected.push_back(queue_id);
    }
  }
  return selected;
}

std::vector<ControlResult> change_queue_files(const QueueLayout& layout, ControlAction action,
                                              const std::vector<std::string>& queue_ids,
                                              const QueueMatch& match) {
  QueueEditor editor(layout);
  std::vector<ControlResult> results;
  results.reserve(queue_ids.size());
  size_t synced_up_to = 0;
  auto sync = [&] {
    Status synced = editor.sync();
    for (size_t i = synced_up_to; i < results.size(); ++i) {
      if (!synced && results[i].outcome == ControlOutcome::kDone) {
        results[i].outcome = ControlOutcome::kFailed;
        results[i].reason = "done, but not made durable: " + synced.error().describe();
      }
    }
    synced_up_to = results.size();
  };
  for (const std::string& queue_id : queue_ids) {
    results.push_back(apply_control(editor, action, queue_id, match).result);
    if (results.size() - synced_up_to >= kMaxControlIds) sync();
  }
  sync();
  return results;
}

Result<QueueChange> change_queue(const QueueLayout& layout, ControlAction action,
                                 const std::vector<std::string>& queue_ids, const QueueMatch& match,
                                 QueueChange* partial, int timeout_ms) {
  QueueChange change;
  const std::string socket = layout.private_dir() + "/qmgr";
  for (size_t start = 0; start < queue_ids.size(); start += kMaxControlIds) {
    ControlRequest request;
    request.action = action;
    request.match = match;
    const size_t end = std::min(queue_ids.size(), start + kMaxControlIds);
    request.queue_ids.assign(queue_ids.begin() + static_cast<std::ptrdiff_t>(start),
                             queue_ids.begin() + static_cast<std::ptrdiff_t>(end));
    Result<AttrRecord> reply = ipc_call(socket, encode_control_request(request), timeout_ms);
    if (!reply && start == 0 && qmgr_not_running(reply.error())) {
      change.qmgr_running = false;
      change.results = change_queue_files(layout, action, queue_ids, match);
      return change;
    }
    Result<std::vector<ControlResult>> results =
        reply ? decode_control_reply(*reply, request)
              : Result<std::vector<ControlResult>>(reply.error());
    if (!results) {
      if (partial) *partial = std::move(change);
      Error error = results.error();
      if (error.kind == ErrorKind::kSystem) {
        error = Error::temporary("cannot reach qmgr: " + error.describe());
      }
      return error;
    }
    change.results.insert(change.results.end(), results->begin(), results->end());
  }
  return change;
}

}  // namespace postern
