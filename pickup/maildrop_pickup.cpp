// maildrop/ -> incoming/ (see maildrop_pickup.hpp).
#include "pickup/maildrop_pickup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <functional>
#include <vector>

#include "lib/base/log.hpp"
#include "lib/milter/message_spool.hpp"
#include "lib/mime/message_headers.hpp"
#include "lib/queue/bounce_writer.hpp"
#include "lib/queue/queue_file.hpp"
#include "pickup/maildrop_milters.hpp"

namespace postern::pickup {
namespace {

std::string login_of(uid_t uid) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
    return found->pw_name;
  }
  return fmt::format("uid{}", uid);
}

void move_to_corrupt(const PickupSettings& settings, const std::string& name,
                     const std::string& why) {
  std::string from = settings.queue.maildrop() + "/" + name;
  std::string to = settings.queue.corrupt() + "/maildrop-" + name;
  if (::rename(from.c_str(), to.c_str()) != 0) {
    log::error("maildrop/{}: cannot move to corrupt/: {} ({})", log::printable(name, 64),
               std::strerror(errno), why);
    ::unlink(from.c_str());  // never process it again in a loop
    return;
  }
  log::warning("maildrop/{}: {}; moved to corrupt/maildrop-{}", log::printable(name, 64), why,
               log::printable(name, 64));
}

// Streaming "make every line end CRLF": a LF without CR before it gets one.
class CrlfWriter {
 public:
  using Sink = std::function<Status(std::string_view)>;
  explicit CrlfWriter(Sink sink) : sink_(std::move(sink)) {}
  Status feed(std::string_view chunk) {
    out_.clear();
    for (char c : chunk) {
      if (c == '\n' && last_ != '\r') out_.push_back('\r');
      out_.push_back(c);
      last_ = c;
    }
    return sink_(out_);
  }
  Status finish() {
    if (last_ == '\n') return Status::success();
    return sink_(last_ == '\r' ? "\n" : "\r\n");
  }

 private:
  Sink sink_;
  std::string out_;
  char last_ = '\n';
};

// Postfix's cleanup writes the milter end-of-message lines; pflogsumm counts them only there.
void log_as_cleanup(const std::string& line) {
  log::write_as("cleanup", log::Level::kInfo, line);
}

// Commits writer as <dir>/<name>. kAlreadyQueued: an earlier pickup committed it, then died.
PickupOutcome commit_queue_file(QueueFileWriter& writer, const std::string& dir,
                                const std::string& name) {
  if (Status committed = writer.commit(); !committed) {
    struct stat existing {};
    if (committed.error().sys_errno != EEXIST ||
        ::stat((dir + "/" + name).c_str(), &existing) != 0) {
      log::error("{}: {}", name, committed.error().describe());
      return PickupOutcome::kFailed;
    }
    return PickupOutcome::kAlreadyQueued;
  }
  return PickupOutcome::kQueued;
}

// The sender hears that a milter refused what sendmail had accepted.
void bounce_refusal(const PickupSettings& settings, const QueueFile& file,
                    const QueueEnvelope& envelope, std::string_view reply, int64_t now) {
  if (envelope.sender.empty()) {
    log::info("{}: milter refusal of a message from <>: dropped", envelope.queue_id);
    return;
  }
  BounceRequest request;
  request.notify_to.push_back(envelope.sender);
  request.reporting_mta = settings.hostname;
  request.now = now;
  std::string status = reply.size() > 4 ? std::string(reply.substr(4, reply.find(' ', 4) - 4))
                                        : std::string("5.7.1");
  for (const QueueRecipient& recipient : envelope.recipients) {
    DsnRecipient failed;
    failed.final_recipient = recipient.address;
    failed.orcpt = recipient.orcpt;
    failed.status = status;
    failed.diagnostic = "refused by a milter: " + std::string(reply);
    request.recipients.push_back(std::move(failed));
  }
  Result<std::string> bounce = write_bounce(settings.queue, file, request);
  if (!bounce) {
    log::error("{}: cannot write the bounce: {}", envelope.queue_id, bounce.error().describe());
  } else {
    log::info("{}: sender non-delivery notification: {}", envelope.queue_id, *bounce);
  }
}

// The milter path of pick_up_file: the message into a spool, through non_smtpd_milters, then
// queued (or held, dropped, bounced) as they decided.
PickupOutcome pick_up_filtered(const PickupSettings& settings, const std::string& name,
                               const QueueFile& file, QueueEnvelope envelope,
                               std::string_view received, int64_t now) {
  const std::string incoming = settings.queue.incoming();
  Result<milter::MessageSpool> spool = milter::MessageSpool::create(incoming);
  if (!spool) {
    log::error("{}: {}", name, spool.error().describe());
    return PickupOutcome::kFailed;
  }
  CrlfWriter crlf([&](std::string_view bytes) {
    spool->append(bytes);
    return spool->error() ? Status(*spool->error()) : Status::success();
  });
  Status copied =
      file.for_each_message_chunk([&](std::string_view chunk) { return crlf.feed(chunk); });
  if (copied) copied = crlf.finish();
  Result<milter::MilterMessage> message =
      copied ? milter::MilterMessage::read(*spool, incoming, received)
             : Result<milter::MilterMessage>(copied.error());
  if (!message) {
    log::error("{}: {}", name, message.error().describe());
    return PickupOutcome::kFailed;
  }
  MilterFiltering filtered =
      filter_with_milters(settings.milters, envelope, *message, settings.policy.message_size_limit);
  const std::string path = settings.queue.maildrop() + "/" + name;
  const std::string printable_sender = log::printable(envelope.sender, 300);
  const std::string last_recipient =
      envelope.recipients.empty() ? "" : log::printable(envelope.recipients.back().address, 300);
  // Postfix's end-of-message form: the reply without its 3-digit code.
  const std::string reply_text =
      log::printable(filtered.reply.substr(std::min<size_t>(4, filtered.reply.size())), 300);
  using Action = MilterFiltering::Action;
  switch (filtered.action) {
    case Action::kTempfail:
      log::info(
          "{}: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: {}; from=<{}> "
          "to=<{}> proto=ESMTP helo=<localhost>; left in maildrop/ for the next scan",
          name, reply_text, printable_sender, last_recipient);
      return PickupOutcome::kFailed;
    case Action::kReject:
      log_as_cleanup(fmt::format(
          "{}: milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: {}; from=<{}> "
          "to=<{}> proto=ESMTP helo=<localhost>",
          name, reply_text, printable_sender, last_recipient));
      bounce_refusal(settings, file, envelope, filtered.reply, now);
      ::unlink(path.c_str());
      return PickupOutcome::kDiscarded;
    case Action::kDiscard:
      log_as_cleanup(fmt::format(
          "{}: milter-discard: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers "
          "DISCARD action; from=<{}> to=<{}> proto=ESMTP helo=<localhost>",
          name, printable_sender, last_recipient));
      ::unlink(path.c_str());
      return PickupOutcome::kDiscarded;
    case Action::kQueue:
    case Action::kHold:
      break;
  }
  const bool held = filtered.action == Action::kHold;
  const std::string dir = held ? settings.queue.hold() : incoming;
  ::unlink((dir + "/." + name + ".tmp").c_str());  // left by a pickup killed mid-copy
  Result<QueueFileWriter> writer = QueueFileWriter::create(dir, envelope);
  if (!writer) {
    log::error("{}: {}", name, writer.error().describe());
    return PickupOutcome::kFailed;
  }
  if (Status written =
          message->write([&](std::string_view b) { return writer->append_message(b); });
      !written) {
    log::error("{}: {}", name, written.error().describe());
    return PickupOutcome::kFailed;
  }
  PickupOutcome outcome = commit_queue_file(*writer, dir, name);
  if (outcome == PickupOutcome::kFailed) return outcome;
  ::unlink(path.c_str());
  if (held) {
    log_as_cleanup(fmt::format(
        "{}: milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers HOLD "
        "action; from=<{}> to=<{}> proto=ESMTP helo=<localhost>",
        name, printable_sender, last_recipient));
    return PickupOutcome::kDiscarded;  // nothing for qmgr
  }
  return outcome;
}

std::string received_header(const PickupSettings& settings, uid_t uid, std::string_view id,
                            int64_t now) {
  return fmt::format("Received: by {} (Postern, from userid {})\r\n\tid {}; {}\r\n",
                     settings.hostname, uid, id, make_date_value(now));
}

}  // namespace

PickupOutcome pick_up_file(const PickupSettings& settings, const std::string& name) {
  const std::string path = settings.queue.maildrop() + "/" + name;
  if (name.front() == '.') {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && name.size() > 4 &&
        name.compare(name.size() - 4, 4, ".tmp") == 0 &&
        st.st_mtime + kStaleMaildropTempSeconds < std::time(nullptr)) {
      ::unlink(path.c_str());
      log::info("maildrop/{}: removed a stale temporary file", log::printable(name, 64));
    }
    return PickupOutcome::kSkipped;
  }
  if (!is_queue_id(name)) {
    move_to_corrupt(settings, name, "not a queue file name");
    return PickupOutcome::kCorrupt;
  }
  Result<QueueFile> file = QueueFile::open(path, false);
  if (!file) {
    if (file.error().kind == ErrorKind::kSystem && file.error().sys_errno != ENOENT &&
        file.error().sys_errno != ELOOP) {
      log::error("maildrop/{}: {}", name, file.error().describe());
      return PickupOutcome::kFailed;
    }
    if (file.error().sys_errno == ENOENT) return PickupOutcome::kSkipped;
    move_to_corrupt(settings, name, "corrupt: " + file.error().message);
    return PickupOutcome::kCorrupt;
  }
  struct stat st {};
  if (::fstat(file->fd(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
    move_to_corrupt(settings, name, "not a plain file with one link");
    return PickupOutcome::kCorrupt;
  }
  MaildropOwner owner{st.st_uid, login_of(st.st_uid)};
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Result<QueueEnvelope> envelope =
      check_maildrop_envelope(file->envelope(), owner, settings.policy, name, now);
  if (!envelope) {
    move_to_corrupt(settings, name,
                    fmt::format("refused (uid={}): {}", owner.uid, envelope.error().message));
    return PickupOutcome::kCorrupt;
  }

  const std::string received = received_header(settings, owner.uid, name, now);
  if (!settings.milters.empty()) {
    PickupOutcome outcome = pick_up_filtered(settings, name, *file, *envelope, received, now);
    if (outcome == PickupOutcome::kQueued) {
      log::info("{}: uid={} from=<{}>", name, owner.uid, log::printable(envelope->sender, 300));
    }
    return outcome;
  }
  const std::string incoming = settings.queue.incoming();
  ::unlink((incoming + "/." + name + ".tmp").c_str());  // left by a pickup killed mid-copy
  Result<QueueFileWriter> writer = QueueFileWriter::create(incoming, *envelope);
  if (!writer) {
    log::error("{}: {}", name, writer.error().describe());
    return PickupOutcome::kFailed;
  }
  Status copied = writer->append_message(received);
  CrlfWriter crlf([&](std::string_view bytes) { return writer->append_message(bytes); });
  if (copied) {
    copied = file->for_each_message_chunk([&](std::string_view chunk) { return crlf.feed(chunk); });
  }
  if (copied) copied = crlf.finish();
  if (!copied) {
    log::error("{}: {}", name, copied.error().describe());
    return PickupOutcome::kFailed;
  }
  PickupOutcome outcome = commit_queue_file(*writer, incoming, name);
  if (outcome == PickupOutcome::kFailed) return outcome;
  ::unlink(path.c_str());
  if (outcome == PickupOutcome::kQueued) {
    log::info("{}: uid={} from=<{}>", name, owner.uid, log::printable(envelope->sender, 300));
  }
  return outcome;
}

size_t pick_up_maildrop(const PickupSettings& settings, size_t max_files, bool* more_left) {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(settings.queue.maildrop().c_str())) {
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    ::closedir(dir);
  } else {
    log::error("opendir {}: {}", settings.queue.maildrop(), std::strerror(errno));
  }
  std::sort(names.begin(), names.end());
  size_t queued = 0;
  size_t handled = 0;
  *more_left = false;
  for (const std::string& name : names) {
    if (handled == max_files) {
      *more_left = true;
      break;
    }
    ++handled;
    PickupOutcome outcome = pick_up_file(settings, name);
    // A milter's refusal queues a bounce: qmgr is nudged for it too.
    if (outcome == PickupOutcome::kQueued || outcome == PickupOutcome::kDiscarded) ++queued;
  }
  return queued;
}

}  // namespace postern::pickup
