// The qmgr nudge of postern-smtpd (see qmgr_nudge.hpp). Trusts qmgr's socket (our own queue
// directory); the reply is read with lib/ipc's bounds and otherwise ignored.
#include "smtpd/qmgr_nudge.hpp"

#include "lib/ipc.hpp"
#include "lib/log.hpp"

namespace postern::smtpd {

QmgrNudge::QmgrNudge(const QueueLayout& queue)
    : paths_{queue.private_dir() + "/qmgr", queue.public_dir() + "/qmgr"} {}

void QmgrNudge::nudge(std::string_view queue_id) {
  AttrRecord request;
  request.add("request", "nudge").add("queue_id", queue_id);
  Result<AttrRecord> answer = ipc_call(paths_[preferred_], request, kNudgeTimeoutMs);
  if (answer) return;
  // Not there at all: the service may be the public one. Any other failure: qmgr is busy or
  // down, and its scan of incoming/ finds the file anyway.
  if (answer.error().kind == ErrorKind::kSystem && answer.error().sys_errno == ENOENT) {
    int other = 1 - preferred_;
    Result<AttrRecord> retry = ipc_call(paths_[other], request, kNudgeTimeoutMs);
    if (retry) {
      preferred_ = other;
      return;
    }
  }
  log::debug("{}: qmgr nudge failed (qmgr scans incoming/ anyway): {}", queue_id,
             answer.error().describe());
}

}  // namespace postern::smtpd
