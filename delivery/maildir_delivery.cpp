// Carries out one delivery request in postern-delivery: opens the queue file read-only, streams
// its message once (chunk by chunk, CRLF -> LF) into a tmp/ file of every distinct mailbox,
// fsyncs, renames into new/, fsyncs each new/ once, then answers one result per recipient.
// Trusts qmgr's request only after checking it (queue file under active/, mailbox names that
// stay inside the mail base). Memory: one queue read block and one converted chunk at a time,
// plus each open Maildir file's write buffer.
#include "maildir_delivery.hpp"

#include <time.h>

#include <map>
#include <optional>
#include <set>

#include "lib/base/log.hpp"
#include "lib/mailbox/maildir.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern {
namespace {

enum class OutcomeKind { kSent, kDeferred, kBounced };

struct Outcome {
  OutcomeKind kind = OutcomeKind::kSent;
  std::string dsn = "2.0.0";
  std::string reason = "delivered to maildir";
};

Outcome deferred(std::string dsn, std::string reason) {
  return Outcome{OutcomeKind::kDeferred, std::move(dsn), std::move(reason)};
}

// What a failure means for the sender: a bad name is permanent, the disk is temporary.
Outcome outcome_of(const Error& error) {
  if (error.kind == ErrorKind::kPermanent) {
    return Outcome{OutcomeKind::kBounced, "5.1.3", error.message};
  }
  if (error.kind == ErrorKind::kSystem) {
    if (error.sys_errno == ENOSPC)
      return deferred("4.3.1", "mail system full: " + error.describe());
    if (error.sys_errno == EDQUOT) return deferred("4.2.2", "mailbox full: " + error.describe());
  }
  return deferred("4.3.0", error.describe());
}

const char* status_word(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kSent:
      return "sent";
    case OutcomeKind::kDeferred:
      return "deferred";
    case OutcomeKind::kBounced:
      return "bounced";
  }
  return "deferred";
}

// Deferred beats bounced beats sent: a recipient whose mailboxes did not all succeed is retried.
int severity(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kSent:
      return 0;
    case OutcomeKind::kBounced:
      return 1;
    case OutcomeKind::kDeferred:
      return 2;
  }
  return 2;
}

struct Slot {
  std::string mailbox;
  std::optional<MaildirMessage> message;
  Outcome outcome;
};

void fail(Slot& slot, const Error& error) {
  slot.outcome = outcome_of(error);
  slot.message.reset();  // unlinks the tmp/ file
}

// The envelope sender as a header value: no CR, LF or other control byte can end the line.
std::string header_safe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

double now_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

}  // namespace

AttrRecord deliver_request(const DeliveryRequest& request, const DeliverySettings& settings) {
  const std::string& queue_id = request.queue_id;
  std::vector<Slot> slots;
  std::map<std::string, size_t> slot_of;  // one Maildir file per distinct mailbox
  std::vector<std::vector<size_t>> rcpt_slots(request.recipients.size());
  for (size_t r = 0; r < request.recipients.size(); ++r) {
    for (const std::string& mailbox : request.recipients[r].mailboxes) {
      auto [it, inserted] = slot_of.emplace(mailbox, slots.size());
      if (inserted) slots.push_back(Slot{mailbox, std::nullopt, Outcome{}});
      rcpt_slots[r].push_back(it->second);
    }
  }

  int64_t arrival_time = 0;
  Result<QueueFile> file = QueueFile::open(request.path, false);
  if (!file) {
    for (Slot& slot : slots)
      slot.outcome = deferred("4.3.0", "queue file: " + file.error().describe());
  } else {
    arrival_time = file->envelope().arrival_time;
    // Open every Maildir file and write our two header lines.
    for (Slot& slot : slots) {
      Result<std::string> maildir = maildir_path(settings.mail_base, slot.mailbox);
      if (!maildir) {
        fail(slot, maildir.error());
        continue;
      }
      Result<MaildirMessage> message =
          MaildirMessage::create(settings.mail_base, *maildir, settings.hostname);
      if (!message) {
        fail(slot, message.error());
        continue;
      }
      slot.message.emplace(std::move(message).value());
      std::string head = "Return-Path: <" + header_safe(request.sender) +
                         ">\nDelivered-To: " + slot.mailbox + "\n";
      if (Status s = slot.message->write(head); !s) fail(slot, s.error());
    }
    // The message, read once for every mailbox.
    CrlfToLf converter;
    std::string converted;
    auto write_all_slots = [&](std::string_view bytes) {
      for (Slot& slot : slots) {
        if (!slot.message) continue;
        if (Status s = slot.message->write(bytes); !s) fail(slot, s.error());
      }
    };
    Status read = file->for_each_message_chunk([&](std::string_view chunk) -> Status {
      converted.clear();
      converter.feed(chunk, converted);
      write_all_slots(converted);
      return Status::success();
    });
    if (!read) {
      for (Slot& slot : slots) {
        if (slot.message) fail(slot, read.error());
      }
    } else {
      converted.clear();
      converter.finish(converted);
      if (!converted.empty()) write_all_slots(converted);
    }
    // Durable in tmp/, renamed into new/, then each new/ folder fsynced once.
    std::set<std::string> new_dirs;
    for (Slot& slot : slots) {
      if (!slot.message) continue;
      Result<std::string> final_path = slot.message->commit();
      if (!final_path) {
        fail(slot, final_path.error());
        continue;
      }
      new_dirs.insert(slot.message->new_dir());
    }
    for (const std::string& dir : new_dirs) {
      if (Status s = fsync_directory(dir); !s) {
        for (Slot& slot : slots) {
          if (slot.message && slot.message->new_dir() == dir) slot.outcome = outcome_of(s.error());
        }
      }
    }
  }

  const double delay = arrival_time > 0 ? std::max(0.0, now_seconds() - arrival_time) : 0.0;
  AttrRecord reply;
  for (size_t r = 0; r < request.recipients.size(); ++r) {
    const DeliveryRecipient& rcpt = request.recipients[r];
    const Outcome* worst = nullptr;
    for (size_t s : rcpt_slots[r]) {
      const Slot& slot = slots[s];
      const Outcome& outcome = slot.outcome;
      std::string orig_to;
      if (slot.mailbox != rcpt.address)
        orig_to = ", orig_to=<" + log::printable(rcpt.address) + ">";
      log::info("{}: to=<{}>{}, relay=delivery, delay={:.2f}, dsn={}, status={} ({})", queue_id,
                log::printable(slot.mailbox), orig_to, delay, outcome.dsn,
                status_word(outcome.kind), log::printable(outcome.reason, 200));
      if (!worst || severity(outcome.kind) > severity(worst->kind)) worst = &outcome;
    }
    reply.add("index", rcpt.index);
    reply.add("status", status_word(worst->kind));
    reply.add("dsn", worst->dsn);
    reply.add("reason", worst->reason);
  }
  return reply;
}

}  // namespace postern
