// The queue as JSON (see queue_json.hpp). Same walk and the same bounds as the text listing of
// queue_commands.cpp; only the shape differs.
#include "cli/queue_json.hpp"

#include <time.h>

#include <cerrno>
#include <map>

#include "cli/queue_commands.hpp"
#include "lib/queue/queue_admin.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern {
namespace {

using nlohmann::json;

json time_or_null(int64_t unix_seconds) {
  return unix_seconds > 0 ? json(unix_seconds) : json(nullptr);
}

json iso_or_null(int64_t unix_seconds) {
  return unix_seconds > 0 ? json(iso8601_utc(unix_seconds)) : json(nullptr);
}

json pending_action(uint32_t flags) {
  if (flags & kScheduleDeleteRequested) return "delete";
  if (flags & kScheduleHoldRequested) return "hold";
  return nullptr;
}

json message_json(const QueueLayout& layout, std::string_view folder, const QueueFile& file,
                  bool pending_only) {
  const QueueEnvelope& envelope = file.envelope();
  const std::map<std::string, DeferReason> reasons = read_defer_reasons(layout, envelope.queue_id);
  json recipients = json::array();
  size_t not_shown = 0;
  for (const QueueRecipient& rcpt : envelope.recipients) {
    const bool pending = rcpt.status == RecipientStatus::kPending;
    if (pending_only && !pending) continue;
    if (recipients.size() >= kMaxShownRecipients) {
      ++not_shown;
      continue;
    }
    json deferral = nullptr;
    if (auto it = reasons.find(rcpt.address); pending && it != reasons.end()) {
      deferral = {{"dsn", it->second.dsn}, {"reason", it->second.reason}};
    }
    recipients.push_back({{"address", rcpt.address},
                          {"status", pending ? "pending" : "done"},
                          {"deferral", std::move(deferral)}});
  }
  return {{"queue_id", envelope.queue_id},
          {"folder", folder},
          {"readable", true},
          {"size", envelope.message_bytes},
          {"arrival_time", envelope.arrival_time},
          {"arrival_time_iso", iso8601_utc(envelope.arrival_time)},
          {"sender", envelope.sender},
          {"attempts", envelope.attempts},
          {"next_attempt", time_or_null(envelope.next_attempt)},
          {"next_attempt_iso", iso_or_null(envelope.next_attempt)},
          {"pending_action", pending_action(envelope.schedule_flags)},
          {"recipients", std::move(recipients)},
          {"recipients_not_shown", not_shown}};
}

json unreadable_json(std::string_view queue_id, std::string_view folder, const Error& error) {
  return {
      {"queue_id", queue_id}, {"folder", folder}, {"readable", false}, {"error", error.describe()}};
}

}  // namespace

std::string iso8601_utc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  if (::gmtime_r(&t, &tm) == nullptr) return "?";
  char buffer[64];
  size_t n = ::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

Result<json> queue_list_json(const QueueLayout& layout) {
  std::vector<std::pair<QueueFolder, std::vector<std::string>>> ids_by_folder;
  for (QueueFolder folder : kAdminFolders) {
    Result<std::vector<std::string>> ids = queue_ids_in(queue_folder_path(layout, folder));
    if (!ids) return ids.error();
    ids_by_folder.emplace_back(folder, std::move(*ids));
  }
  json messages = json::array();
  json by_folder = json::object();
  size_t readable = 0;
  size_t unreadable = 0;
  uint64_t bytes = 0;
  for (const auto& [folder, ids] : ids_by_folder) {
    const std::string_view name = queue_folder_name(folder);
    size_t in_folder = 0;
    for (const std::string& queue_id : ids) {
      Result<QueueFile> file =
          QueueFile::open(queue_folder_path(layout, folder) + "/" + queue_id, false);
      if (!file) {
        // Moved on since the folder was read (qmgr at work): listed where it is next, or gone.
        if (file.error().kind == ErrorKind::kSystem && file.error().sys_errno == ENOENT) continue;
        messages.push_back(unreadable_json(queue_id, name, file.error()));
        ++unreadable;
        continue;
      }
      file->envelope().queue_id = queue_id;
      messages.push_back(message_json(layout, name, *file, true));
      ++readable;
      ++in_folder;
      bytes += file->envelope().message_bytes;
    }
    by_folder[std::string(name)] = in_folder;
  }
  return json{{"messages", std::move(messages)},
              {"totals",
               {{"messages", readable},
                {"unreadable", unreadable},
                {"bytes", bytes},
                {"by_folder", std::move(by_folder)}}}};
}

Result<json> queue_show_json(const QueueLayout& layout, std::string_view queue_id) {
  if (!is_queue_id(queue_id)) return Error::parse("not a queue ID");
  for (QueueFolder folder : kAdminFolders) {
    const std::string path = queue_folder_path(layout, folder) + "/" + std::string(queue_id);
    Result<QueueFile> file = QueueFile::open(path, false);
    if (!file) {
      if (file.error().kind == ErrorKind::kSystem && file.error().sys_errno == ENOENT) continue;
      return Error::parse(std::string(queue_id) + ": unreadable: " + file.error().describe());
    }
    file->envelope().queue_id = std::string(queue_id);
    json document = message_json(layout, queue_folder_name(folder), *file, false);
    json attributes = json::object();
    for (const auto& [name, value] : file->envelope().attributes) attributes[name] = value;
    document["attributes"] = std::move(attributes);
    std::string text;
    Status read = file->for_each_message_chunk([&](std::string_view chunk) -> Status {
      for (size_t i = 0; i < chunk.size(); ++i) {
        // CRLF as LF; a CR split from its LF by a chunk boundary is dropped the same way.
        if (chunk[i] == '\r' && (i + 1 == chunk.size() || chunk[i + 1] == '\n')) continue;
        text += chunk[i];
      }
      return Status::success();
    });
    if (!read) {
      return Error::parse(std::string(queue_id) + ": unreadable: " + read.error().describe());
    }
    document["message"] = std::move(text);
    return document;
  }
  return Error::not_found(std::string(queue_id) + ": no such message in the queue");
}

}  // namespace postern
