// The admin's requests to postern-qmgr over private/qmgr (`postern queue flush|delete|hold|
// release|requeue`, lib/queue/queue_control.hpp), QueueManager's members. They run inside qmgr's
// event loop, so no file moves under qmgr while it works on it:
// - a message in incoming/, deferred/ or hold/, or waiting in active/ for its turn: the file is
//   unlinked or renamed at once (lib/queue/queue_admin.hpp: never over another file, folders
//   fsynced before the reply);
// - a message whose delivery attempt is in flight: delete and hold set a flag in its file
//   (fdatasync before the reply, so a qmgr crash cannot forget them), requeue is remembered in
//   memory (after a crash active/ is routed afresh anyway); its requests not sent yet are
//   dropped, those in flight are answered, and then finish() removes the file (no bounce, nothing
//   delivered afterwards), moves it to hold/ or to incoming/.
// Trusts only what decode_control_request() let through; every ID is looked up, never assumed.
#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/base/log.hpp"
#include "qmgr/queue_manager.hpp"

namespace postern {

AttrRecord answer_control_request(QueueManager& manager, const AttrRecord& request) {
  std::optional<std::string_view> name = request.get("request");
  if (name == std::optional<std::string_view>("flush")) {
    Result<FlushRequest> flush = decode_flush_request(request);
    if (!flush) return control_error_reply(flush.error().describe());
    size_t count = flush->domain ? manager.flush_domain(*flush->domain) : manager.flush();
    AttrRecord reply;
    reply.add("status", "ok");
    reply.add("count", static_cast<int64_t>(count));
    return reply;
  }
  if (!name || !is_control_request(*name)) return control_error_reply("unknown request");
  Result<ControlRequest> control = decode_control_request(request);
  if (!control) {
    log::warning("refused a {} request: {}", log::printable(*name), control.error().describe());
    return control_error_reply(control.error().describe());
  }
  return encode_control_reply(manager.control(*control));
}

std::vector<ControlResult> QueueManager::control(const ControlRequest& request) {
  QueueEditor editor(settings_.layout);
  std::vector<ControlResult> results;
  results.reserve(request.queue_ids.size());
  for (const std::string& queue_id : request.queue_ids) {
    results.push_back(control_one(request, queue_id, editor));
  }
  if (Status synced = editor.sync(); !synced) {
    log::error("cannot fsync the queue folders after a {} request: {}",
               control_action_name(request.action), synced.error().describe());
    for (ControlResult& result : results) {
      if (result.outcome != ControlOutcome::kDone) continue;
      result.outcome = ControlOutcome::kFailed;
      result.reason = "done, but not made durable: " + synced.error().describe();
    }
  }
  // Released and requeued files are taken from incoming/ at once.
  if (request.action == ControlAction::kRelease || request.action == ControlAction::kRequeue) {
    scan_incoming();
  }
  pump();
  return results;
}

QueueManager::Attempt* QueueManager::attempt_in_flight(std::string_view queue_id) {
  for (auto& [raw, attempt] : in_flight_) {
    if (attempt->queue_id == queue_id) return raw;
  }
  return nullptr;
}

void QueueManager::remove_from_ready(const std::string& queue_id) {
  auto it = std::find(ready_.begin(), ready_.end(), queue_id);
  if (it != ready_.end()) ready_.erase(it);
  known_.erase(queue_id);
}

ControlResult QueueManager::control_one(const ControlRequest& request, const std::string& queue_id,
                                        QueueEditor& editor) {
  ControlResult result{queue_id, ControlOutcome::kDone, {}};
  if (stopping_) {
    result.outcome = ControlOutcome::kFailed;
    result.reason = "qmgr is stopping";
    return result;
  }
  if (Attempt* attempt = attempt_in_flight(queue_id)) return control_in_flight(request, *attempt);

  // In active/ and known: waiting in ready_ for its turn (not in flight: checked above).
  const bool ready = known_.count(queue_id) > 0;
  AppliedChange change = apply_control(editor, request.action, queue_id, request.match);
  if (change.result.outcome == ControlOutcome::kFailed) {
    log::error("{}: cannot {}: {}", queue_id, control_action_name(request.action),
               change.result.reason);
  }
  if (!change.done_text.empty()) {
    if (ready && change.from == QueueFolder::kActive) remove_from_ready(queue_id);
    log::info("{}: {}", queue_id, change.done_text);
  }
  return change.result;
}

ControlResult QueueManager::control_in_flight(const ControlRequest& request, Attempt& attempt) {
  ControlResult result{attempt.queue_id, ControlOutcome::kDone,
                       "when its delivery attempt returns"};
  QueueFile& file = *attempt.file;
  QueueEnvelope& envelope = file.envelope();
  if (!request.match.empty() && !envelope_matches(envelope, request.match)) {
    result.outcome = ControlOutcome::kSkipped;
    result.reason = "no longer matches";
    return result;
  }
  switch (request.action) {
    case ControlAction::kDelete:
    case ControlAction::kHold: {
      const bool remove = request.action == ControlAction::kDelete;
      const uint32_t flag = remove ? kScheduleDeleteRequested : kScheduleHoldRequested;
      if (Status flagged = file.update_schedule(envelope.attempts, envelope.next_attempt,
                                                envelope.schedule_flags | flag);
          !flagged) {
        result.outcome = ControlOutcome::kFailed;
        result.reason = flagged.error().describe();
        log::error("{}: cannot mark for {}: {}", attempt.queue_id,
                   control_action_name(request.action), result.reason);
        return result;
      }
      if (remove) {
        attempt.pending = Attempt::Pending::kDelete;
      } else if (attempt.pending != Attempt::Pending::kDelete) {
        attempt.pending = Attempt::Pending::kHold;
      }
      log::info("{}: to be {} when its delivery attempt returns", attempt.queue_id,
                remove ? "removed" : "placed on hold");
      break;
    }
    case ControlAction::kRequeue:
      if (attempt.pending == Attempt::Pending::kDelete) {
        result.outcome = ControlOutcome::kSkipped;
        result.reason = "it is being removed";
        return result;
      }
      if (attempt.pending == Attempt::Pending::kHold) {
        // As for a message in hold/: requeueing releases it.
        if (Status cleared =
                file.update_schedule(envelope.attempts, envelope.next_attempt,
                                     envelope.schedule_flags & ~kScheduleHoldRequested);
            !cleared) {
          result.outcome = ControlOutcome::kFailed;
          result.reason = cleared.error().describe();
          return result;
        }
      }
      attempt.pending = Attempt::Pending::kRequeue;
      log::info("{}: to be requeued when its delivery attempt returns", attempt.queue_id);
      break;
    case ControlAction::kRelease:
      if (attempt.pending != Attempt::Pending::kHold) {
        result.outcome = ControlOutcome::kNotFound;
        result.reason = "not on hold (being delivered)";
        return result;
      }
      if (Status cleared = file.update_schedule(envelope.attempts, envelope.next_attempt,
                                                envelope.schedule_flags & ~kScheduleHoldRequested);
          !cleared) {
        result.outcome = ControlOutcome::kFailed;
        result.reason = cleared.error().describe();
        return result;
      }
      attempt.pending = Attempt::Pending::kNone;
      result.reason = "its hold was cancelled";
      log::info("{}: hold cancelled", attempt.queue_id);
      return result;  // nothing to drop: it goes on as before
  }
  // Last: this may finish the attempt (and free it) when no request of it is in flight.
  if (drop_waiting_calls(attempt)) result.reason.clear();
  return result;
}

bool QueueManager::drop_waiting_calls(Attempt& attempt) {
  Attempt* raw = &attempt;
  for (std::unique_ptr<Lane>& lane : lanes_) {
    for (auto it = lane->waiting.begin(); it != lane->waiting.end();) {
      if (it->attempt == raw) {
        it = lane->waiting.erase(it);
        --raw->requests_open;  // its recipients stay pending (never sent)
      } else {
        ++it;
      }
    }
  }
  if (raw->requests_open > 0) return false;
  auto it = in_flight_.find(raw);
  if (it == in_flight_.end()) return false;
  std::unique_ptr<Attempt> done = std::move(it->second);
  in_flight_.erase(it);
  finish(std::move(done));
  check_stopped();
  return true;
}

bool QueueManager::finish_pending(Attempt& attempt, bool pending_left) {
  const std::string& queue_id = attempt.queue_id;
  QueueEditor editor(settings_.layout);
  QueueFile& file = *attempt.file;
  const QueueEnvelope& envelope = file.envelope();
  Status done = Status::success();
  const char* logged = nullptr;
  switch (attempt.pending) {
    case Attempt::Pending::kNone:
      return false;
    case Attempt::Pending::kDelete:
      done = editor.remove(QueueFolder::kActive, queue_id);
      logged = "removed";
      break;
    case Attempt::Pending::kHold:
    case Attempt::Pending::kRequeue: {
      if (!pending_left) return false;  // nothing left to hold or route: removed as usual
      // The attempt counts (and a delay warning's flag is kept), as defer_file would write.
      if (Status s = file.update_schedule(envelope.attempts + 1, envelope.next_attempt); !s) {
        log::error("{}: cannot update the schedule: {}", queue_id, s.error().describe());
      }
      const bool hold = attempt.pending == Attempt::Pending::kHold;
      done = editor.move(QueueFolder::kActive, hold ? QueueFolder::kHold : QueueFolder::kIncoming,
                         queue_id);
      logged = hold ? "placed on hold" : "requeued";
      break;
    }
  }
  if (done) done = editor.sync();
  if (!done) {
    // The file stays in active/ (flagged for delete and hold): taken back at the next start.
    log::error("{}: cannot carry out the admin's request: {}", queue_id, done.error().describe());
    if (attempt.pending == Attempt::Pending::kRequeue) return false;  // deferred as usual
    return true;
  }
  log::info("{}: {}", queue_id, logged);
  return true;
}

bool QueueManager::apply_file_flags(const std::string& queue_id, const QueueFile& file) {
  const uint32_t flags = file.envelope().schedule_flags;
  if ((flags & (kScheduleDeleteRequested | kScheduleHoldRequested)) == 0) return false;
  QueueEditor editor(settings_.layout);
  const bool remove = flags & kScheduleDeleteRequested;
  Status done = remove ? editor.remove(QueueFolder::kActive, queue_id)
                       : editor.move(QueueFolder::kActive, QueueFolder::kHold, queue_id);
  if (done) done = editor.sync();
  if (!done) {
    log::error("{}: cannot {} as the admin asked: {}", queue_id, remove ? "remove" : "hold",
               done.error().describe());
    park_unreadable(queue_id, file.path());  // retried later, and not delivered meanwhile
    return true;
  }
  log::info("{}: {}", queue_id, remove ? "removed" : "placed on hold");
  return true;
}

}  // namespace postern
