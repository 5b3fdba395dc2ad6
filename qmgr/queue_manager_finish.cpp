// Finishing one attempt of postern-qmgr (QueueManager's members, see queue_manager.hpp): the
// results are recorded in the queue file, bounces and the one "delayed" DSN are written
// (durably, before a recipient counts as done), and the file is removed or deferred with its
// next attempt time and its defer/ reasons. Split from queue_manager.cpp, which takes files and
// sends requests; the same durability rules hold (see there).
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "lib/base/log.hpp"
#include "lib/queue/bounce_writer.hpp"
#include "qmgr/queue_manager.hpp"
#include "qmgr/retry_schedule.hpp"

namespace postern {
namespace {

int64_t now_seconds() { return static_cast<int64_t>(::time(nullptr)); }

bool contains_word(std::string_view list, std::string_view word) {
  std::string upper(list);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  size_t pos = 0;
  while (pos <= upper.size()) {
    size_t comma = upper.find(',', pos);
    if (comma == std::string::npos) comma = upper.size();
    std::string_view item(upper.data() + pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == word) return true;
    pos = comma + 1;
  }
  return false;
}

// RFC 3461: no NOTIFY means FAILURE (and DELAY); NEVER means no report at all.
bool wants_failure_report(std::string_view notify) {
  if (notify.empty()) return true;
  if (contains_word(notify, "NEVER")) return false;
  return contains_word(notify, "FAILURE");
}

// RFC 3461: no NOTIFY lets the MTA send delay reports (Postfix does); otherwise only DELAY.
bool wants_delay_report(std::string_view notify) {
  if (notify.empty()) return true;
  return contains_word(notify, "DELAY");
}

}  // namespace

void QueueManager::finish(std::unique_ptr<Attempt> attempt) {
  const int64_t now = now_seconds();
  if (attempt->pending == Attempt::Pending::kDelete) {
    // The admin deleted it during the attempt: what was delivered is delivered, the rest is
    // dropped without a bounce, and the file goes (queue_manager_control.cpp).
    finish_pending(*attempt, false);
    known_.erase(attempt->queue_id);
    return;
  }
  const QueueEnvelope& envelope = attempt->file->envelope();
  const int64_t lifetime = envelope.sender.empty() ? settings_.bounce_queue_lifetime_seconds
                                                   : settings_.maximal_queue_lifetime_seconds;
  if (queue_lifetime_exceeded(envelope.arrival_time, now, lifetime)) {
    bool expired_any = false;
    for (RecipientResult& result : attempt->results) {
      if (result.outcome != Outcome::kDeferred) continue;
      result.outcome = Outcome::kBounced;
      result.reason = "message expired in the queue: " + result.reason;
      expired_any = true;
    }
    if (expired_any) {
      log::info("{}: from=<{}>, status=expired, returned to sender", attempt->queue_id,
                log::printable(envelope.sender));
    }
  }

  send_bounces(*attempt, now);

  bool pending_left = false;
  std::vector<size_t> done;
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    if (envelope.recipients[i].status != RecipientStatus::kPending) continue;
    Outcome outcome = attempt->results[i].outcome;
    if (outcome == Outcome::kSent || outcome == Outcome::kBounced) {
      done.push_back(i);
    } else {
      pending_left = true;
    }
  }

  const std::string path = attempt->file->path();
  if (!pending_left) {
    // Every result is final: the file goes. (Not fsynced: a power cut right here may bring it
    // back and deliver it twice, the duplicate window Postfix has too; never a loss.)
    if (::unlink(path.c_str()) != 0) {
      log::error("{}: cannot remove {}: {}", attempt->queue_id, path, std::strerror(errno));
    } else {
      log::info("{}: removed", attempt->queue_id);
      remove_defer_reasons(attempt->queue_id);
    }
  } else {
    if (!done.empty()) {
      if (Status s = attempt->file->mark_recipients_done(done); !s) {
        log::error("{}: cannot record results: {}", attempt->queue_id, s.error().describe());
      }
    }
    write_defer_reasons_of(*attempt);
    send_delay_warning(*attempt, now);  // sets the flag that defer_file writes
    // Held or requeued by the admin during the attempt: to hold/ or incoming/, not deferred/.
    if (!finish_pending(*attempt, true)) defer_file(*attempt, now);
  }
  known_.erase(attempt->queue_id);
}

void QueueManager::send_bounces(Attempt& attempt, int64_t now) {
  const QueueEnvelope& envelope = attempt.file->envelope();
  BounceRequest bounce;
  bounce.reporting_mta = settings_.myhostname;
  bounce.now = now;
  std::vector<size_t> reported;
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    const RecipientResult& result = attempt.results[i];
    if (result.outcome != Outcome::kBounced) continue;
    if (!wants_failure_report(envelope.recipients[i].notify)) continue;
    DsnRecipient rcpt;
    rcpt.final_recipient = envelope.recipients[i].address;
    rcpt.orcpt = envelope.recipients[i].orcpt;
    rcpt.action = "failed";
    rcpt.status = result.dsn.empty() ? "5.0.0" : result.dsn;
    rcpt.diagnostic = result.reason;
    rcpt.remote_mta = result.remote_mta;
    rcpt.smtp_diagnostic = result.diagnostic;
    bounce.recipients.push_back(std::move(rcpt));
    reported.push_back(i);
  }
  if (reported.empty()) return;

  if (!envelope.sender.empty()) {
    bounce.notify_to.push_back(envelope.sender);
  } else if (envelope.attribute(kPostmasterCopyAttribute)) {
    log::warning("{}: undeliverable postmaster notification discarded", attempt.queue_id);
    return;
  } else {
    // A bounce that could not be delivered: postmaster hears of it.
    bounce.postmaster_copy = true;
    Result<Resolution> postmaster = accounts_.resolve("postmaster", settings_.recipient_delimiter);
    if (postmaster) {
      bounce.notify_to = postmaster->mailboxes;
      bounce.notify_to.insert(bounce.notify_to.end(), postmaster->remote.begin(),
                              postmaster->remote.end());
    }
    if (bounce.notify_to.empty()) {
      log::warning("{}: undeliverable bounce discarded: no postmaster in the accounts",
                   attempt.queue_id);
      return;
    }
  }

  Result<std::string> bounce_id = write_bounce(settings_.layout, *attempt.file, bounce);
  if (!bounce_id) {
    // Not recorded as done: the recipients stay pending and bounce on a later attempt.
    log::error("{}: cannot write the bounce: {}", attempt.queue_id, bounce_id.error().describe());
    attempt.short_retry = true;
    for (size_t i : reported) {
      attempt.results[i].outcome = Outcome::kDeferred;
    }
    return;
  }
  log::info("{}: {}: {}", attempt.queue_id,
            bounce.postmaster_copy ? "postmaster non-delivery notification"
                                   : "sender non-delivery notification",
            *bounce_id);
  if (!stopping_ && has_room()) take_file(settings_.layout.incoming(), *bounce_id);
}

void QueueManager::write_defer_reasons_of(const Attempt& attempt) {
  const QueueEnvelope& envelope = attempt.file->envelope();
  std::vector<DeferReason> reasons;
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    const RecipientResult& result = attempt.results[i];
    if (envelope.recipients[i].status != RecipientStatus::kPending) continue;
    if (result.outcome != Outcome::kDeferred) continue;
    reasons.push_back(DeferReason{envelope.recipients[i].address, result.dsn, result.reason});
  }
  if (reasons.empty()) return;
  if (Status s = write_defer_reasons(settings_.layout.defer(), attempt.queue_id, reasons); !s) {
    log::warning("{}: cannot write defer/{}: {}", attempt.queue_id, attempt.queue_id,
                 s.error().describe());
  }
}

void QueueManager::remove_defer_reasons(const std::string& queue_id) {
  const std::string path = settings_.layout.defer() + "/" + queue_id;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    log::warning("{}: cannot remove {}: {}", queue_id, path, std::strerror(errno));
  }
}

void QueueManager::send_delay_warning(Attempt& attempt, int64_t now) {
  QueueEnvelope& envelope = attempt.file->envelope();
  if (settings_.delay_warning_seconds <= 0 || envelope.sender.empty()) return;
  if (envelope.schedule_flags & kScheduleDelayWarned) return;
  if (now - envelope.arrival_time < settings_.delay_warning_seconds) return;

  BounceRequest warning;
  warning.reporting_mta = settings_.myhostname;
  warning.now = now;
  warning.notify_to.push_back(envelope.sender);
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    const RecipientResult& result = attempt.results[i];
    if (envelope.recipients[i].status != RecipientStatus::kPending) continue;
    if (result.outcome != Outcome::kDeferred) continue;
    if (!wants_delay_report(envelope.recipients[i].notify)) continue;
    DsnRecipient rcpt;
    rcpt.final_recipient = envelope.recipients[i].address;
    rcpt.orcpt = envelope.recipients[i].orcpt;
    rcpt.action = "delayed";
    rcpt.status = result.dsn.starts_with("4.") ? result.dsn : "4.0.0";
    rcpt.diagnostic = result.reason;
    rcpt.remote_mta = result.remote_mta;
    rcpt.smtp_diagnostic = result.diagnostic;
    warning.recipients.push_back(std::move(rcpt));
  }
  // Sent at most once, even when no recipient asked for it (NOTIFY without DELAY).
  envelope.schedule_flags |= kScheduleDelayWarned;
  if (warning.recipients.empty()) return;
  Result<std::string> warning_id = write_bounce(settings_.layout, *attempt.file, warning);
  if (!warning_id) {
    // Not flagged: tried again after the next attempt.
    envelope.schedule_flags &= ~kScheduleDelayWarned;
    log::error("{}: cannot write the delay warning: {}", attempt.queue_id,
               warning_id.error().describe());
    return;
  }
  log::info("{}: sender delay notification: {}", attempt.queue_id, *warning_id);
  if (!stopping_ && has_room()) take_file(settings_.layout.incoming(), *warning_id);
}

void QueueManager::defer_file(Attempt& attempt, int64_t now) {
  QueueFile& file = *attempt.file;
  const uint32_t attempts = file.envelope().attempts;
  int64_t delay = attempt.short_retry ? std::max<int64_t>(1, settings_.minimal_backoff_seconds)
                                      : backoff_seconds(attempts, settings_.minimal_backoff_seconds,
                                                        settings_.maximal_backoff_seconds);
  int64_t next = now + delay;
  if (Status s = file.update_schedule(attempts + 1, next); !s) {
    log::error("{}: cannot update the schedule: {}", attempt.queue_id, s.error().describe());
  }
  // The mtime says when to try again, so a deferred scan needs only stat().
  timespec times[2];
  times[0].tv_sec = now;
  times[0].tv_nsec = 0;
  times[1].tv_sec = next;
  times[1].tv_nsec = 0;
  if (::futimens(file.fd(), times) != 0) {
    log::error("{}: cannot set the retry time: {}", attempt.queue_id, std::strerror(errno));
  }
  std::string to = settings_.layout.deferred() + "/" + attempt.queue_id;
  if (::rename(file.path().c_str(), to.c_str()) != 0) {
    log::error("{}: cannot move to deferred/: {}", attempt.queue_id, std::strerror(errno));
  }
}

}  // namespace postern
