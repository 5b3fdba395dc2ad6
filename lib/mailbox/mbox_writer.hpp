// Appends one message at a time to an mbox file (/var/mail/USER) the way Debian policy and
// Postfix local(8) do: a "From sender date" line, the caller's header lines, the message with
// CRLF turned into LF and every line starting "From " written as ">From " (mboxo), one empty
// line after it, then fsync; on any failure the file is cut back to its size before the
// message. Used by the local delivery agent, already running as the recipient (uid) with gid
// mail, holding an MboxLock; this code changes no privileges and takes no locks.
// Trusts: the path (built by the caller from passwd) and the sender (SMTP-parsed, still made
// safe for the From_ line). Hostile: whatever sits at the path in the spool folder — a symlink,
// a hard link, a file of another owner, a FIFO or device is refused (checked with fstat on the
// opened descriptor, never stat on the path). Message bytes are never interpreted beyond line
// starts. Limits: writes buffered to kMboxWriteBufferBytes (a 50 MB message is never held in
// memory), the From_ sender cut to kMboxMaxSenderBytes, and an optional max_mbox_bytes.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"
#include "lib/mailbox/maildir.hpp"

namespace postern {

inline constexpr size_t kMboxWriteBufferBytes = 64 * 1024;
inline constexpr size_t kMboxMaxSenderBytes = 512;
inline constexpr mode_t kMboxFileMode = 0660;

// Opens path for appending (O_WRONLY|O_APPEND|O_NOFOLLOW|O_CLOEXEC), creating it with mode
// exactly kMboxFileMode (fchmod after create, so the umask does not narrow it) when absent; a
// new file's folder is fsynced. Errors:
//  - kPermanent: path is a symlink, not a regular file (folder, FIFO, device...), has more than
//    one hard link, or is not owned by expected_uid (pass static_cast<uid_t>(-1) to skip that).
//  - kTemporary: the file was unlinked while we opened it (st_nlink == 0).
//  - kSystem (sys_errno set): open, fstat, fchmod or the folder fsync failed otherwise
//    (EACCES, ENOSPC, ENOENT for a missing spool folder...).
Result<UniqueFd> open_mbox_for_append(const std::string& path, uid_t expected_uid);

// "From <sender> <date>\n" for the top of a message: sender made safe by mbox_from_sender and
// the date in UTC as asctime(3) writes it, e.g. "From a@example.test Mon Dec  7 10:31:08 2026".
std::string mbox_from_line(std::string_view sender, time_t arrival_time);
// The sender as the From_ line shows it: "MAILER-DAEMON" for the null sender (""); otherwise
// each space, tab, control byte (< 0x20) and DEL becomes '_' (8-bit bytes are kept), cut to
// kMboxMaxSenderBytes. An mbox reader splits the From_ line on spaces, so none may be left.
std::string mbox_from_sender(std::string_view sender);

// One message being appended to an open mbox; the descriptor is not owned and must outlive the
// appender. Call order: begin, any write_header_line, any feed, finish. After an error, call
// rollback() (or let the destructor do it): the file is cut back to its size at begin().
class MboxAppender {
 public:
  // path is for error messages only. max_mbox_bytes > 0: the file may not grow past that many
  // bytes (mailbox_size_limit); the write that would pass it fails with kLimit.
  MboxAppender(int mbox_fd, std::string path, uint64_t max_mbox_bytes = 0);
  MboxAppender(const MboxAppender&) = delete;
  MboxAppender& operator=(const MboxAppender&) = delete;
  // Rolls back unless finish() succeeded (or nothing was begun).
  ~MboxAppender();

  // Remembers the file's size (fstat) and writes the From_ line (mbox_from_line).
  Status begin(std::string_view sender, time_t arrival_time);
  // One header line the caller adds (Return-Path:, Delivered-To:), without its line end; only
  // before the first feed(). A line holding CR, LF or NUL is refused (kParse). Escaped like the
  // message should it start with "From ".
  Status write_header_line(std::string_view line);
  // Message bytes in wire form (CRLF line ends), in chunks split anywhere.
  Status feed(std::string_view chunk);
  // Ends the last line with "\n" if it has none, adds the empty separator line, writes what is
  // buffered and fsyncs. Only after this returns success is the message delivered.
  Status finish();
  // Drops the buffer and ftruncates the file back to its size at begin(), then fsyncs. Does
  // nothing when nothing was begun or finish() succeeded. Safe to call twice.
  Status rollback();

  // Bytes of this message put in the file or the buffer so far (From_ line included).
  uint64_t message_bytes() const { return message_bytes_; }

 private:
  Status emit(std::string_view bytes);
  Status escape_lines(std::string_view lf_text);
  Status flush();
  int fd_;
  std::string path_;
  uint64_t max_mbox_bytes_;
  enum class State { kIdle, kHeaders, kBody, kFinished, kFailed };
  State state_ = State::kIdle;
  off_t start_size_ = 0;
  uint64_t message_bytes_ = 0;
  CrlfToLf crlf_;
  std::string converted_;  // one slice of feed() after CRLF -> LF
  std::string buffer_;
  // At a line start, the bytes of the line so far while they are still a prefix of "From "
  // (held back until the line shows whether it needs the '>').
  bool at_line_start_ = true;
  std::string held_prefix_;
  char last_byte_ = '\n';
};

}  // namespace postern
