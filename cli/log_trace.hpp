// The log lines of one message, for `postern why QUEUE_ID`: read from maillog_file or syslog's
// /var/log/mail.log (each with its rotated ".1" first), in order. A line is the message's when,
// after the syslog header and a "warning: "-style level, its text starts with "QUEUE_ID: ", as
// every Postern line about a message does (lib/base/log.hpp). The trace follows the message's
// consequences as they appear: a bounce or delay notice it caused ("QID: sender non-delivery
// notification: NEWID") and a forward ("status=sent (forwarded as NEWID)") add NEWID, whose own
// lines come later in the log. NOQUEUE lines (rejects before there was an ID) cannot be tied to
// a message and are never shown.
// Runs in the `postern` command. Treats the log as hostile: read streaming with a fixed buffer,
// each line cut at kMaxLogLineBytes (the rest of it skipped), at most kMaxTraceLines lines kept
// and kMaxTracedQueueIds IDs followed; lines that are not in syslog's shape are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::cli {

inline constexpr size_t kMaxLogLineBytes = 4096;
inline constexpr size_t kMaxTraceLines = 10000;
inline constexpr size_t kMaxTracedQueueIds = 100;
inline constexpr size_t kMaxQueueIdBytes = 32;

struct LogLine {
  std::string time;     // as written: "Dec  7 05:24:04" or "2026-12-07T05:24:04.123456+00:00"
  std::string host;
  std::string program;  // "postern/smtpd"
  int64_t pid = -1;     // -1: the line has none
  std::string text;     // after "program[pid]: "
};

// Syslog's file shapes (rsyslog's traditional and its RFC 3339 one); nullopt for anything else.
std::optional<LogLine> parse_log_line(std::string_view line);

// The queue ID a line's text is about ("warning: " and its kind skipped first), or "".
std::string_view text_queue_id(std::string_view text);

// The ID of a message this line says was made from its own (bounce, delay notice, forward), or "".
std::string_view caused_queue_id(std::string_view text);

// A plausible queue ID to search for: 1 to kMaxQueueIdBytes letters and digits.
bool is_searchable_queue_id(std::string_view text);

struct TracedLine {
  std::string file;
  std::string queue_id;
  LogLine line;
  std::string raw;  // the whole line, printable, as cut
};

class MessageTrace {
 public:
  explicit MessageTrace(std::string queue_id);

  // One line of a log file (without its newline, possibly cut).
  void feed(std::string_view raw, const std::string& file);
  // A whole file, streaming; errors: it cannot be opened or read.
  Status feed_file(const std::string& path);

  const std::vector<TracedLine>& lines() const { return lines_; }
  const std::vector<std::string>& queue_ids() const { return queue_ids_; }  // the asked one first
  bool truncated() const { return truncated_; }

 private:
  std::vector<std::string> queue_ids_;
  std::set<std::string, std::less<>> followed_;
  std::vector<TracedLine> lines_;
  bool truncated_ = false;
};

}  // namespace postern::cli
