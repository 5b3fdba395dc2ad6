// `postern queue list|show|flush` in text (see queue_commands.hpp). Reads queue files with
// QueueFile (every record bounded; a damaged file becomes one "unreadable" line) and defer/<ID>
// with the bounded, lenient parser of lib/queue/queue_file; everything printed goes through
// shown().
#include "queue_commands.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <vector>

#include "lib/base/file_read.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/queue/queue_control.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern {
namespace {

struct Folder {
  const char* name;
  char mark;  // after the queue ID, as mailq does: '*' active, '!' on hold
};
constexpr Folder kFolders[] = {
    {"incoming", ' '}, {"active", '*'}, {"deferred", ' '}, {"hold", '!'}};
constexpr size_t kRecipientIndent = 45;

// Printable ASCII, cut to kMaxShownFieldBytes: queue files hold peer text.
std::string shown(std::string_view text, size_t max_bytes = kMaxShownFieldBytes) {
  std::string out;
  size_t limit = std::min(text.size(), max_bytes);
  out.reserve(limit + 3);
  for (size_t i = 0; i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

std::string folder_path(const QueueLayout& layout, std::string_view folder) {
  return layout.root + "/" + std::string(folder);
}

std::string sender_text(std::string_view sender) {
  return sender.empty() ? "MAILER-DAEMON" : shown(sender);
}

void list_one(const QueueLayout& layout, const Folder& folder, const std::string& queue_id,
              QueueListTotals& totals, const Emit& emit) {
  Result<QueueFile> file =
      QueueFile::open(folder_path(layout, folder.name) + "/" + queue_id, false);
  if (!file) {
    // Moved on between readdir and open (qmgr at work): it shows up in its next folder or is
    // gone; not worth a line.
    if (file.error().kind == ErrorKind::kSystem && file.error().sys_errno == ENOENT) return;
    ++totals.unreadable;
    emit(fmt::format("{}{} (unreadable: {})\n\n", queue_id, folder.mark,
                     shown(file.error().describe())));
    return;
  }
  const QueueEnvelope& envelope = file->envelope();
  ++totals.messages;
  totals.bytes += envelope.message_bytes;
  emit(fmt::format("{}{} {:>8} {:<20}  {}\n", queue_id, folder.mark, envelope.message_bytes,
                   queue_time_text(envelope.arrival_time), sender_text(envelope.sender)));
  const std::map<std::string, DeferReason> reasons = read_defer_reasons(layout, queue_id);
  const std::string indent(kRecipientIndent, ' ');
  std::string last_reason;
  size_t listed = 0;
  size_t pending = 0;
  for (const QueueRecipient& rcpt : envelope.recipients) {
    if (rcpt.status != RecipientStatus::kPending) continue;
    ++pending;
    if (listed >= kMaxShownRecipients) continue;
    ++listed;
    auto it = reasons.find(rcpt.address);
    std::string reason = it == reasons.end()
                             ? std::string()
                             : shown(it->second.reason) + " (" + shown(it->second.dsn, 16) + ")";
    if (!reason.empty() && reason != last_reason) emit(indent + "(" + reason + ")\n");
    last_reason = reason;
    emit(indent + shown(rcpt.address) + "\n");
  }
  if (pending > listed)
    emit(fmt::format("{}... and {} more recipients\n", indent, pending - listed));
  emit("\n");
}

}  // namespace

// The queue IDs in dir, sorted; none when dir does not exist. A folder that exists but cannot be
// read (permissions, not a directory) is an error: "Mail queue is empty" would be a lie.
Result<std::vector<std::string>> queue_ids_in(const std::string& dir) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    return Error::system("cannot read " + dir);
  }
  while (dirent* entry = ::readdir(d)) {
    if (is_queue_id(entry->d_name)) ids.emplace_back(entry->d_name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// address -> "dsn reason" from defer/<ID>; empty when there is no such file.
std::map<std::string, DeferReason> read_defer_reasons(const QueueLayout& layout,
                                                      std::string_view queue_id) {
  std::map<std::string, DeferReason> by_address;
  Result<std::string> text =
      read_small_file(layout.defer() + "/" + std::string(queue_id), kMaxDeferFileBytes);
  if (!text) return by_address;
  for (DeferReason& reason : parse_defer_reasons(*text)) {
    std::string address = reason.address;
    by_address.emplace(std::move(address), std::move(reason));
  }
  return by_address;
}

std::string queue_time_text(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  if (::localtime_r(&t, &tm) == nullptr) return "?";
  char buffer[64];
  size_t n = ::strftime(buffer, sizeof buffer, "%a %b %e %H:%M:%S", &tm);
  return std::string(buffer, n);
}

Result<QueueListTotals> list_queue(const QueueLayout& layout, const Emit& emit) {
  // Every folder is read before anything is printed, so an unreadable one gives an error alone.
  std::vector<std::vector<std::string>> ids_by_folder;
  for (const Folder& folder : kFolders) {
    Result<std::vector<std::string>> ids = queue_ids_in(folder_path(layout, folder.name));
    if (!ids) return ids.error();
    ids_by_folder.push_back(std::move(*ids));
  }
  QueueListTotals totals;
  bool header = false;
  for (size_t i = 0; i < std::size(kFolders); ++i) {
    const Folder& folder = kFolders[i];
    for (const std::string& queue_id : ids_by_folder[i]) {
      if (!header) {
        emit(fmt::format("{:<17} {:>8} {:<20}  {}\n", "-Queue ID-", "--Size--",
                         "----Arrival Time----", "-Sender/Recipient-------"));
        header = true;
      }
      list_one(layout, folder, queue_id, totals, emit);
    }
  }
  if (totals.messages == 0 && totals.unreadable == 0) {
    emit("Mail queue is empty\n");
  } else {
    emit(fmt::format("-- {} Kbytes in {} Request{}.{}\n", (totals.bytes + 1023) / 1024,
                     totals.messages, totals.messages == 1 ? "" : "s",
                     totals.unreadable ? fmt::format(" {} unreadable.", totals.unreadable) : ""));
  }
  return totals;
}

Status show_queue_message(const QueueLayout& layout, std::string_view queue_id, const Emit& emit) {
  if (!is_queue_id(queue_id)) return Error::parse("not a queue ID: " + shown(queue_id, 40));
  for (const Folder& folder : kFolders) {
    std::string path = folder_path(layout, folder.name) + "/" + std::string(queue_id);
    Result<QueueFile> file = QueueFile::open(path, false);
    if (!file) {
      if (file.error().kind == ErrorKind::kSystem && file.error().sys_errno == ENOENT) continue;
      return Error::parse(fmt::format("{}: unreadable: {}", queue_id, file.error().describe()));
    }
    const QueueEnvelope& envelope = file->envelope();
    const std::map<std::string, DeferReason> reasons = read_defer_reasons(layout, queue_id);
    emit("*** ENVELOPE RECORDS " + std::string(folder.name) + "/" + std::string(queue_id) +
         " ***\n");
    emit(fmt::format("message_size: {}\n", envelope.message_bytes));
    emit(fmt::format("arrival_time: {}\n", queue_time_text(envelope.arrival_time)));
    emit(fmt::format("attempts: {}\n", envelope.attempts));
    if (envelope.next_attempt > 0) {
      emit(fmt::format("next_attempt: {}\n", queue_time_text(envelope.next_attempt)));
    }
    emit("sender: " + shown(envelope.sender) + "\n");
    for (const auto& [name, value] : envelope.attributes) {
      emit("attribute: " + shown(name, 64) + "=" + shown(value) + "\n");
    }
    size_t listed = 0;
    for (const QueueRecipient& rcpt : envelope.recipients) {
      if (++listed > kMaxShownRecipients) {
        emit(fmt::format("... and {} more recipients\n", envelope.recipients.size() - listed + 1));
        break;
      }
      std::string line =
          (rcpt.status == RecipientStatus::kDone ? "done_recipient: " : "recipient: ") +
          shown(rcpt.address);
      if (!rcpt.orcpt.empty()) line += " orcpt=" + shown(rcpt.orcpt);
      if (!rcpt.notify.empty()) line += " notify=" + shown(rcpt.notify, 64);
      auto it = reasons.find(rcpt.address);
      if (rcpt.status == RecipientStatus::kPending && it != reasons.end()) {
        line += " (" + shown(it->second.dsn, 16) + " " + shown(it->second.reason) + ")";
      }
      emit(line + "\n");
    }
    emit("*** MESSAGE CONTENTS " + std::string(queue_id) + " ***\n");
    bool last_was_cr = false;
    Status read = file->for_each_message_chunk([&](std::string_view chunk) -> Status {
      std::string out;
      out.reserve(chunk.size());
      for (char c : chunk) {
        if (last_was_cr && c != '\n') out += '?';  // a bare CR
        last_was_cr = c == '\r';
        if (last_was_cr) continue;
        unsigned char byte = static_cast<unsigned char>(c);
        // No terminal control sequences from a sender reach the admin's screen.
        out += (byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f ? '?' : c;
      }
      emit(out);
      return Status::success();
    });
    if (last_was_cr) emit("?");
    if (!read)
      return Error::parse(fmt::format("{}: unreadable: {}", queue_id, read.error().describe()));
    emit("*** END OF MESSAGE ***\n");
    return Status::success();
  }
  return Error::not_found(std::string(queue_id) + ": no such message in the queue");
}

Result<int64_t> flush_queue(const QueueLayout& layout, int timeout_ms) {
  return flush_queue(layout, std::nullopt, timeout_ms);
}

Result<int64_t> flush_queue(const QueueLayout& layout, const std::optional<std::string>& domain,
                            int timeout_ms) {
  Result<AttrRecord> reply = ipc_call(layout.private_dir() + "/qmgr",
                                      encode_flush_request(FlushRequest{domain}), timeout_ms);
  if (!reply) return reply.error();
  if (reply->get("status") != std::optional<std::string_view>("ok")) {
    return Error::parse("qmgr did not accept the flush request: " +
                        shown(reply->get("reason").value_or("no reason given")));
  }
  std::optional<int64_t> count = reply->get_int("count");
  if (!count) return Error::parse("qmgr's reply has no count");
  return *count;
}

}  // namespace postern
