// One message's log lines (see log_trace.hpp).
#include "cli/log_trace.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/unique_fd.hpp"

namespace postern::cli {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr std::string_view kLevels[] = {"warning: ", "error: ", "fatal: ", "panic: ", "debug: "};
constexpr std::string_view kCauses[] = {"non-delivery notification: ", "delay notification: ",
                                        "delivery status notification: ", "forwarded as "};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) {
  return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Takes the next word up to a space off text.
std::string_view take_word(std::string_view& text) {
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return {};
  std::string_view word = text.substr(0, space);
  text.remove_prefix(space + 1);
  return word;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 && byte != '\t') || byte >= 0x7f ? '?' : c;
  }
  return out;
}

}  // namespace

std::optional<LogLine> parse_log_line(std::string_view line) {
  LogLine parsed;
  std::string_view rest = line;
  // "Dec  7 05:24:04 " (the day space-padded), or "2026-12-07T05:24:04.123456+00:00 ".
  if (rest.size() >= 16 && rest[3] == ' ' && rest[6] == ' ' && rest[9] == ':' &&
      rest[12] == ':' && rest[15] == ' ') {
    parsed.time = std::string(rest.substr(0, 15));
    rest.remove_prefix(16);
  } else if (rest.size() > 20 && is_digit(rest[0]) && rest[4] == '-' && rest[10] == 'T') {
    std::string_view stamp = take_word(rest);
    if (stamp.empty() || stamp.size() > 40) return std::nullopt;
    parsed.time = std::string(stamp);
  } else {
    return std::nullopt;
  }
  std::string_view host = take_word(rest);
  if (host.empty()) return std::nullopt;
  parsed.host = std::string(host);
  size_t colon = rest.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 256) return std::nullopt;
  std::string_view tag = rest.substr(0, colon);
  if (tag.find(' ') != std::string_view::npos) return std::nullopt;
  if (tag.back() == ']') {
    size_t open = tag.find('[');
    if (open == std::string_view::npos || open == 0) return std::nullopt;
    std::string_view digits = tag.substr(open + 1, tag.size() - open - 2);
    if (digits.empty() || digits.size() > 10) return std::nullopt;
    int64_t pid = 0;
    for (char c : digits) {
      if (!is_digit(c)) return std::nullopt;
      pid = pid * 10 + (c - '0');
    }
    parsed.pid = pid;
    tag = tag.substr(0, open);
  }
  parsed.program = std::string(tag);
  parsed.text = std::string(rest.substr(colon + 2));
  return parsed;
}

std::string_view text_queue_id(std::string_view text) {
  for (std::string_view level : kLevels) {
    if (text.starts_with(level)) {
      text.remove_prefix(level.size());
      break;
    }
  }
  size_t end = 0;
  while (end < text.size() && end <= kMaxQueueIdBytes && is_alnum(text[end])) ++end;
  if (end == 0 || end > kMaxQueueIdBytes || end >= text.size() || text[end] != ':') return {};
  if (end + 1 < text.size() && text[end + 1] != ' ') return {};
  std::string_view id = text.substr(0, end);
  if (id == "NOQUEUE") return {};
  return id;
}

std::string_view caused_queue_id(std::string_view text) {
  for (std::string_view cause : kCauses) {
    size_t at = text.find(cause);
    if (at == std::string_view::npos) continue;
    std::string_view rest = text.substr(at + cause.size());
    size_t end = 0;
    while (end < rest.size() && end <= kMaxQueueIdBytes && is_alnum(rest[end])) ++end;
    if (end == 0 || end > kMaxQueueIdBytes) continue;
    return rest.substr(0, end);
  }
  return {};
}

bool is_searchable_queue_id(std::string_view text) {
  if (text.empty() || text.size() > kMaxQueueIdBytes) return false;
  for (char c : text) {
    if (!is_alnum(c)) return false;
  }
  return text != "NOQUEUE";
}

MessageTrace::MessageTrace(std::string queue_id) {
  followed_.insert(queue_id);
  queue_ids_.push_back(std::move(queue_id));
}

void MessageTrace::feed(std::string_view raw, const std::string& file) {
  std::optional<LogLine> line = parse_log_line(raw);
  if (!line) return;
  std::string_view id = text_queue_id(line->text);
  if (id.empty() || followed_.find(id) == followed_.end()) return;
  if (lines_.size() >= kMaxTraceLines) {
    truncated_ = true;
    return;
  }
  std::string_view caused = caused_queue_id(line->text);
  if (!caused.empty() && followed_.find(caused) == followed_.end()) {
    if (followed_.size() < kMaxTracedQueueIds) {
      followed_.insert(std::string(caused));
      queue_ids_.emplace_back(caused);
    } else {
      truncated_ = true;
    }
  }
  TracedLine traced;
  traced.file = file;
  traced.queue_id = std::string(id);
  traced.raw = printable(raw);
  line->text = printable(line->text);
  line->host = printable(line->host);
  line->program = printable(line->program);
  traced.line = std::move(*line);
  lines_.push_back(std::move(traced));
}

Status MessageTrace::feed_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted at the path must not hang us in open(); only a regular file is
  // read (where O_NONBLOCK changes nothing).
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return Error::system("cannot open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::system("cannot stat " + path);
  if (!S_ISREG(st.st_mode)) return Error::parse(path + " is not a regular file");
  std::string buffer(kReadBufferBytes, '\0');
  std::string line;
  bool skipping = false;  // past kMaxLogLineBytes: the rest of this line is dropped
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("cannot read " + path);
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    while (!chunk.empty()) {
      size_t newline = chunk.find('\n');
      std::string_view piece = chunk.substr(0, newline);
      if (!skipping) {
        size_t room = kMaxLogLineBytes - line.size();
        if (piece.size() > room) {
          line.append(piece.substr(0, room));
          skipping = true;
        } else {
          line.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      chunk.remove_prefix(newline + 1);
      feed(line, path);
      line.clear();
      skipping = false;
    }
  }
  if (!line.empty()) feed(line, path);
  return Status::success();
}

}  // namespace postern::cli
