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
#include <vector>

#include "lib/base/log.hpp"
#include "lib/mime/message_headers.hpp"
#include "lib/queue/queue_file.hpp"

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
  explicit CrlfWriter(QueueFileWriter& writer) : writer_(writer) {}
  Status feed(std::string_view chunk) {
    out_.clear();
    for (char c : chunk) {
      if (c == '\n' && last_ != '\r') out_.push_back('\r');
      out_.push_back(c);
      last_ = c;
    }
    return writer_.append_message(out_);
  }
  Status finish() {
    if (last_ == '\n') return Status::success();
    return writer_.append_message(last_ == '\r' ? "\n" : "\r\n");
  }

 private:
  QueueFileWriter& writer_;
  std::string out_;
  char last_ = '\n';
};

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

  const std::string incoming = settings.queue.incoming();
  ::unlink((incoming + "/." + name + ".tmp").c_str());  // left by a pickup killed mid-copy
  Result<QueueFileWriter> writer = QueueFileWriter::create(incoming, *envelope);
  if (!writer) {
    log::error("{}: {}", name, writer.error().describe());
    return PickupOutcome::kFailed;
  }
  Status copied = writer->append_message(received_header(settings, owner.uid, name, now));
  CrlfWriter crlf(*writer);
  if (copied) {
    copied = file->for_each_message_chunk([&](std::string_view chunk) { return crlf.feed(chunk); });
  }
  if (copied) copied = crlf.finish();
  if (!copied) {
    log::error("{}: {}", name, copied.error().describe());
    return PickupOutcome::kFailed;
  }
  PickupOutcome outcome = PickupOutcome::kQueued;
  if (Status committed = writer->commit(); !committed) {
    struct stat existing {};
    if (committed.error().sys_errno != EEXIST ||
        ::stat((incoming + "/" + name).c_str(), &existing) != 0) {
      log::error("{}: {}", name, committed.error().describe());
      return PickupOutcome::kFailed;
    }
    outcome = PickupOutcome::kAlreadyQueued;  // an earlier pickup committed it, then died
  }
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
    if (pick_up_file(settings, name) == PickupOutcome::kQueued) ++queued;
  }
  return queued;
}

}  // namespace postern::pickup
