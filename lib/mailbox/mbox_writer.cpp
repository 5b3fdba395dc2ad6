// mbox appends for the local delivery agent (running as the recipient, holding an MboxLock):
// the open that refuses symlinks, hard links, foreign owners and non-regular files; the From_
// line; streaming CRLF -> LF with mboxo ">From " escaping that keeps a "From " split across
// chunks; buffered writes (kMboxWriteBufferBytes) with short-write and EINTR handling; fsync on
// finish and ftruncate back on any failure.
#include "lib/mailbox/mbox_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "lib/queue/queue_dir.hpp"

namespace postern {
namespace {

constexpr std::string_view kFromPrefix = "From ";

Error permanent(std::string what) {
  return Error{ErrorKind::kPermanent, std::move(what), 0};
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

// Opens an existing file without following a symlink and without blocking on a FIFO; creates
// it (O_EXCL) when absent. *created says which happened.
Result<UniqueFd> open_or_create(const std::string& path, bool* created) {
  constexpr int kFlags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  for (int attempt = 0; attempt < 4; ++attempt) {
    int fd = ::open(path.c_str(), kFlags);
    if (fd >= 0) {
      *created = false;
      return UniqueFd(fd);
    }
    if (errno == ELOOP) return permanent("mailbox " + path + " is a symbolic link");
    if (errno == ENXIO) return permanent("mailbox " + path + " is not a regular file");
    if (errno == EINTR) continue;
    if (errno != ENOENT) return Error::system("open " + path);
    fd = ::open(path.c_str(), kFlags | O_CREAT | O_EXCL, kMboxFileMode);
    if (fd >= 0) {
      *created = true;
      return UniqueFd(fd);
    }
    if (errno != EEXIST && errno != EINTR) return Error::system("create " + path);
    // Someone else made it between our two opens: open theirs (and check it) instead.
  }
  return Error{ErrorKind::kTemporary, "mailbox " + path + " keeps appearing and vanishing", 0};
}

}  // namespace

Result<UniqueFd> open_mbox_for_append(const std::string& path, uid_t expected_uid) {
  bool created = false;
  Result<UniqueFd> opened = open_or_create(path, &created);
  if (!opened) return opened.error();
  UniqueFd fd = std::move(opened).value();
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::system("fstat " + path);
  if (!S_ISREG(st.st_mode)) return permanent("mailbox " + path + " is not a regular file");
  if (st.st_nlink == 0) {
    return Error{ErrorKind::kTemporary, "mailbox " + path + " was removed while opening it", 0};
  }
  if (st.st_nlink > 1) return permanent("mailbox " + path + " has more than one hard link");
  if (expected_uid != static_cast<uid_t>(-1) && st.st_uid != expected_uid) {
    return permanent(
        fmt::format("mailbox {} is owned by uid {}, not {}", path, st.st_uid, expected_uid));
  }
  // A regular file: blocking writes from here on.
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return Error::system("fcntl " + path);
  }
  if (created) {
    if (::fchmod(fd.get(), kMboxFileMode) != 0) return Error::system("fchmod " + path);
    if (Status s = fsync_directory(parent_of(path)); !s) return s.error();
  }
  return fd;
}

std::string mbox_from_sender(std::string_view sender) {
  if (sender.empty()) return "MAILER-DAEMON";
  std::string out(sender.substr(0, kMboxMaxSenderBytes));
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) c = '_';
  }
  return out;
}

std::string mbox_from_line(std::string_view sender, time_t arrival_time) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // UTC by arithmetic, not gmtime_r: postern-local calls this in a child forked from a threaded
  // process, and glibc's gmtime_r takes the tzset lock, which another thread may have held at
  // the fork (the child then waits forever). Days to civil date: the proleptic Gregorian
  // calendar in 400-year eras, counted from 0000-03-01.
  int64_t seconds = arrival_time < 0 ? 0 : static_cast<int64_t>(arrival_time);
  const int64_t days = seconds / 86400;
  const int64_t second_of_day = seconds % 86400;
  const int64_t shifted = days + 719468;  // days from 0000-03-01 to 1970-01-01
  const int64_t era = shifted / 146097;
  const int64_t day_of_era = shifted - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;  // 0 = March
  const int64_t day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const int64_t month = month_index < 10 ? month_index + 3 : month_index - 9;  // 1..12
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  const int64_t weekday = (days + 4) % 7;  // 1970-01-01 was a Thursday
  // asctime(3)'s shape, written out here so that no locale can change it.
  return fmt::format("From {} {} {} {:2} {:02}:{:02}:{:02} {}\n", mbox_from_sender(sender),
                     kDays[weekday], kMonths[month - 1], day, second_of_day / 3600,
                     second_of_day / 60 % 60, second_of_day % 60, year);
}

MboxAppender::MboxAppender(int mbox_fd, std::string path, uint64_t max_mbox_bytes)
    : fd_(mbox_fd), path_(std::move(path)), max_mbox_bytes_(max_mbox_bytes) {}

MboxAppender::~MboxAppender() {
  (void)rollback();
}

Status MboxAppender::begin(std::string_view sender, time_t arrival_time) {
  if (state_ != State::kIdle) return Error::system("begin on a used mbox appender", EINVAL);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Error::system("fstat " + path_);
  start_size_ = st.st_size;
  state_ = State::kHeaders;
  buffer_.reserve(kMboxWriteBufferBytes);
  return emit(mbox_from_line(sender, arrival_time));
}

Status MboxAppender::write_header_line(std::string_view line) {
  if (state_ != State::kHeaders) return Error::system("header line out of order", EINVAL);
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return Error::parse("header line for " + path_ + " holds CR, LF or NUL");
  }
  std::string text(line);
  text += '\n';
  return escape_lines(text);
}

Status MboxAppender::feed(std::string_view chunk) {
  if (state_ != State::kHeaders && state_ != State::kBody) {
    return Error::system("feed on an mbox appender not begun", EINVAL);
  }
  state_ = State::kBody;
  // Slices of one buffer's size: a large chunk costs at most that much more memory.
  while (!chunk.empty()) {
    std::string_view slice = chunk.substr(0, kMboxWriteBufferBytes);
    chunk.remove_prefix(slice.size());
    converted_.clear();
    crlf_.feed(slice, converted_);
    if (Status s = escape_lines(converted_); !s) return s;
  }
  return Status::success();
}

Status MboxAppender::finish() {
  if (state_ != State::kHeaders && state_ != State::kBody) {
    return Error::system("finish on an mbox appender not begun", EINVAL);
  }
  converted_.clear();
  crlf_.finish(converted_);  // a lone CR at the very end
  if (Status s = escape_lines(converted_); !s) return s;
  if (!held_prefix_.empty()) {  // the last line is a bare "From"-prefix with no line end
    std::string held = std::exchange(held_prefix_, std::string());
    if (Status s = emit(held); !s) return s;
  }
  if (last_byte_ != '\n') {
    if (Status s = emit("\n"); !s) return s;
  }
  if (Status s = emit("\n"); !s) return s;  // the empty line before the next From_ line
  if (Status s = flush(); !s) return s;
  if (::fsync(fd_) != 0) {
    state_ = State::kFailed;
    return Error::system("fsync " + path_);
  }
  state_ = State::kFinished;
  return Status::success();
}

Status MboxAppender::rollback() {
  if (state_ == State::kIdle || state_ == State::kFinished) return Status::success();
  buffer_.clear();
  held_prefix_.clear();
  state_ = State::kFinished;  // whatever happens below, there is nothing more to undo
  if (::ftruncate(fd_, start_size_) != 0) return Error::system("ftruncate " + path_);
  if (::fsync(fd_) != 0) return Error::system("fsync " + path_);
  return Status::success();
}

// Writes LF-ended text, putting '>' before each line that starts with "From ". Bytes at a line
// start that could still become "From " are held in held_prefix_ until a byte decides.
Status MboxAppender::escape_lines(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (at_line_start_) {
      char c = text[i];
      if (c == kFromPrefix[held_prefix_.size()]) {
        held_prefix_ += c;
        ++i;
        if (held_prefix_.size() == kFromPrefix.size()) {
          held_prefix_.clear();
          at_line_start_ = false;
          if (Status s = emit(">From "); !s) return s;
        }
        continue;
      }
      at_line_start_ = false;  // this line cannot be a From_ line; write what was held
      if (!held_prefix_.empty()) {
        std::string held = std::exchange(held_prefix_, std::string());
        if (Status s = emit(held); !s) return s;
      }
    }
    size_t newline = text.find('\n', i);
    size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    if (Status s = emit(text.substr(i, end - i)); !s) return s;
    at_line_start_ = newline != std::string_view::npos;
    i = end;
  }
  return Status::success();
}

Status MboxAppender::emit(std::string_view bytes) {
  if (bytes.empty()) return Status::success();
  if (max_mbox_bytes_ > 0 &&
      static_cast<uint64_t>(start_size_) + message_bytes_ + bytes.size() > max_mbox_bytes_) {
    state_ = State::kFailed;
    return Error::limit(
        fmt::format("mailbox {} would pass its size limit of {} bytes", path_, max_mbox_bytes_));
  }
  message_bytes_ += bytes.size();
  last_byte_ = bytes.back();
  if (buffer_.size() + bytes.size() > kMboxWriteBufferBytes) {
    if (Status s = flush(); !s) return s;
  }
  buffer_.append(bytes);
  return Status::success();
}

Status MboxAppender::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {  // 0 for a non-empty write: treat as a full disk rather than spin
      state_ = State::kFailed;
      return Error::system("write " + path_, n < 0 ? errno : ENOSPC);
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status::success();
}

}  // namespace postern
