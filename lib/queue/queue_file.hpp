// Queue files: the envelope and the message of one piece of mail, the single source of truth
// between smtpd (writer), qmgr (scheduler) and delivery/relay (readers). Format: a sequence of
// records, each  type:u8  length:u32 big-endian  payload[length], ending with an 'E' record:
//   'V' version ("postern-queue 1")   'T' arrival time (decimal unix seconds)
//   'S' schedule, 16 bytes fixed: attempts u32, flags u32 (kSchedule* bits; was "reserved",
//       always 0 before), next_attempt u64 (updated in place)
//   'F' sender ("" for <>)             'A' attribute "name=value" (client, helo, auth, dsn...)
//   'R' recipient: status byte ('P' pending, 'D' done) then "address\0orcpt\0notify"; the status
//       byte is updated in place by qmgr
//   'M' message chunk (<= kMaxMessageChunkBytes; message text in wire form: CRLF lines, no
//       dot-stuffing)                 'E' end (length 0); nothing may follow it
// Readers trust nothing: length first, then version, every record bounded, nothing left over.
// A file that does not parse goes to corrupt/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {

inline constexpr uint32_t kMaxEnvelopeRecordBytes = 64 * 1024;
inline constexpr uint32_t kMaxMessageChunkBytes = 64 * 1024;
inline constexpr size_t kMaxQueueRecipients = 100000;
inline constexpr size_t kMaxQueueAttributes = 1000;

// Bits of the 'S' record's flags word.
inline constexpr uint32_t kScheduleDelayWarned = 1;  // qmgr sent the "delayed" DSN already

// defer/<queue_id>: why each recipient was last deferred, written by qmgr after an attempt that
// leaves recipients deferred, read by `postern queue list`. Informational only (the queue file
// is the truth). One line per recipient: "address TAB dsn TAB reason LF", printable ASCII only
// (control and 8-bit bytes become '?'), each field cut to kMaxDeferFieldBytes, at most
// kMaxDeferLines lines.
inline constexpr size_t kMaxDeferFieldBytes = 400;
inline constexpr size_t kMaxDeferLines = 1000;
inline constexpr size_t kMaxDeferFileBytes = kMaxDeferLines * (3 * kMaxDeferFieldBytes + 8);

struct DeferReason {
  std::string address;
  std::string dsn;
  std::string reason;
};
std::string format_defer_reasons(const std::vector<DeferReason>& reasons);
// Lenient: a line without two tabs is skipped; at most kMaxDeferLines are returned.
std::vector<DeferReason> parse_defer_reasons(std::string_view text);
// Writes defer_dir/queue_id through a temporary name and rename (no fsync: informational).
// Creates defer_dir (0700) when it is missing (spools older than defer/).
Status write_defer_reasons(const std::string& defer_dir, std::string_view queue_id,
                           const std::vector<DeferReason>& reasons);

enum class RecipientStatus : char { kPending = 'P', kDone = 'D' };

struct QueueRecipient {
  std::string address;  // "user@domain"
  std::string orcpt;    // RFC 3461 ORCPT as given ("rfc822;user@domain"), may be empty
  std::string notify;   // RFC 3461 NOTIFY as given ("SUCCESS,FAILURE"), may be empty
  RecipientStatus status = RecipientStatus::kPending;
  uint64_t status_offset = 0;  // file offset of the status byte (set by the reader)
};

struct QueueEnvelope {
  std::string queue_id;
  int64_t arrival_time = 0;
  uint32_t attempts = 0;
  uint32_t schedule_flags = 0;  // kSchedule* bits
  int64_t next_attempt = 0;
  std::string sender;  // "" = null sender
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<QueueRecipient> recipients;
  uint64_t schedule_offset = 0;  // file offset of the 'S' payload (set by the reader)
  uint64_t message_bytes = 0;    // total of all 'M' chunks (set by the reader)

  std::optional<std::string_view> attribute(std::string_view name) const;
};

// Writes a new queue file under a temporary name in a directory; commit() makes it durable and
// visible under its final name: write 'E', fsync the file, rename, fsync the directory.
class QueueFileWriter {
 public:
  // Creates "<dir>/.<queue_id>.tmp" with O_EXCL. Writes the envelope records at once.
  static Result<QueueFileWriter> create(const std::string& dir, const QueueEnvelope& envelope);
  QueueFileWriter(QueueFileWriter&&) noexcept;
  QueueFileWriter& operator=(QueueFileWriter&&) noexcept;
  ~QueueFileWriter();  // unlinks the temporary file unless committed

  // Appends message bytes (wire form); split into 'M' records internally.
  Status append_message(std::string_view bytes);
  uint64_t message_bytes() const { return message_bytes_; }
  // Durable, then renamed to "<dir>/<queue_id>". Only after this may anyone hear 250.
  Status commit();
  // Drops the temporary file (client went away, size exceeded...).
  void abort();

 private:
  QueueFileWriter() = default;
  Status flush_buffer();
  std::string dir_;
  std::string queue_id_;
  std::string tmp_path_;
  UniqueFd fd_;
  std::string buffer_;
  size_t open_chunk_at_ = std::string::npos;  // offset in buffer_ of the 'M' being filled
  uint64_t message_bytes_ = 0;
  bool done_ = false;
};

// An open, parsed queue file. Message chunks are not kept in memory: read them with
// for_each_message_chunk.
class QueueFile {
 public:
  // Opens read-write when writable (qmgr updates status bytes in place), else read-only. A
  // symlink is not followed (kSystem, ELOOP).
  static Result<QueueFile> open(const std::string& path, bool writable);

  const QueueEnvelope& envelope() const { return envelope_; }
  QueueEnvelope& envelope() { return envelope_; }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // Calls fn for each message chunk in order; stops early (and returns the error) if fn fails.
  Status for_each_message_chunk(const std::function<Status(std::string_view)>& fn) const;
  // Whole message in memory (tests, small messages).
  Result<std::string> read_message() const;
  // One 'M' record at a time, for a reader that streams at its own pace (relay).
  size_t message_chunk_count() const { return chunks_.size(); }
  Status read_message_chunk(size_t index, std::string& out) const;

  // In-place updates (pwrite), made durable with fdatasync.
  Status mark_recipient_done(size_t index);
  // Several recipients with one fdatasync (qmgr after a delivery batch).
  Status mark_recipients_done(const std::vector<size_t>& indexes);
  Status update_schedule(uint32_t attempts, int64_t next_attempt);  // keeps the flags
  Status update_schedule(uint32_t attempts, int64_t next_attempt, uint32_t flags);

 private:
  QueueFile() = default;
  std::string path_;
  UniqueFd fd_;
  QueueEnvelope envelope_;
  std::vector<std::pair<uint64_t, uint32_t>> chunks_;  // (offset of payload, length)
};

// A complete queue file image in memory, as QueueFileWriter would write it (sendmail(1) hands
// one to postdrop). The envelope is checked as QueueFileWriter::create checks it (queue_id
// too, although the image does not hold it: a file is named by it).
Result<std::string> encode_queue_file(const QueueEnvelope& envelope, std::string_view message);

// Parses a complete queue file image (used by QueueFile::open and the fuzz target).
// chunk_offsets receives (payload offset, length) for each 'M' record when non-null.
Result<QueueEnvelope> parse_queue_file(std::string_view image,
                                       std::vector<std::pair<uint64_t, uint32_t>>* chunk_offsets);

}  // namespace postern
