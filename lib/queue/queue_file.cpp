// Queue files: writing a new one durably (smtpd, submission, pickup) and reading one back
// (qmgr, delivery, relay, the CLI). The reader trusts nothing in the file: it walks the records
// with every length checked against what is left, envelope records bounded by
// kMaxEnvelopeRecordBytes, message chunks by kMaxMessageChunkBytes, recipient and attribute
// counts by kMaxQueueRecipients / kMaxQueueAttributes; 'V' first with our version, exactly one
// 'T', 'S' and 'F', 'E' last and nothing after it. Message chunks are never held in memory by
// the reader: it records their offsets and skips them, so a 50 MB message costs a few reads.
// The same record walker serves files (pread) and in-memory images (the fuzz target).
#include "lib/queue/queue_file.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "lib/queue/queue_dir.hpp"

namespace postern {
namespace {

constexpr std::string_view kQueueVersion = "postern-queue 1";
constexpr size_t kRecordHeaderBytes = 5;
constexpr size_t kScheduleBytes = 16;
// The writer hands the kernel at least this much at a time (one 'M' record and a bit).
constexpr size_t kWriteBufferBytes = 64 * 1024;
// Reader read-ahead: large while reading sequentially (the envelope, a small file in one go),
// small right after skipping a message chunk (only the next record header is wanted).
constexpr size_t kSequentialReadAheadBytes = 64 * 1024 + kRecordHeaderBytes;
constexpr size_t kSkipReadAheadBytes = 4 * 1024;
// for_each_message_chunk reads this much of the file per pread.
constexpr size_t kMessageReadBytes = 1024 * 1024;
constexpr size_t kMaxTimeDigits = 18;  // fits int64 without overflow checks

void put_u32(char* out, uint32_t value) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}

void put_u64(char* out, uint64_t value) {
  put_u32(out, static_cast<uint32_t>(value >> 32));
  put_u32(out + 4, static_cast<uint32_t>(value));
}

uint32_t get_u32(const char* in) {
  auto byte = [in](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}

uint64_t get_u64(const char* in) {
  return (static_cast<uint64_t>(get_u32(in)) << 32) | get_u32(in + 4);
}

void encode_schedule(char* out, uint32_t attempts, int64_t next_attempt, uint32_t flags) {
  put_u32(out, attempts);
  put_u32(out + 4, flags);
  put_u64(out + 8, static_cast<uint64_t>(next_attempt));
}

void append_record(std::string& out, char type, std::string_view payload) {
  char header[kRecordHeaderBytes];
  header[0] = type;
  put_u32(header + 1, static_cast<uint32_t>(payload.size()));
  out.append(header, kRecordHeaderBytes);
  out.append(payload);
}

// Every record before the message: V T S F A* R*.
void append_envelope_records(std::string& out, const QueueEnvelope& envelope) {
  append_record(out, 'V', kQueueVersion);
  append_record(out, 'T', std::to_string(envelope.arrival_time));
  char schedule[kScheduleBytes];
  encode_schedule(schedule, envelope.attempts, envelope.next_attempt, envelope.schedule_flags);
  append_record(out, 'S', std::string_view(schedule, kScheduleBytes));
  append_record(out, 'F', envelope.sender);
  std::string scratch;
  for (const auto& [name, value] : envelope.attributes) {
    scratch.assign(name);
    scratch.push_back('=');
    scratch.append(value);
    append_record(out, 'A', scratch);
  }
  for (const QueueRecipient& rcpt : envelope.recipients) {
    scratch.assign(1, static_cast<char>(rcpt.status));
    scratch.append(rcpt.address);
    scratch.push_back('\0');
    scratch.append(rcpt.orcpt);
    scratch.push_back('\0');
    scratch.append(rcpt.notify);
    append_record(out, 'R', scratch);
  }
}

Status write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("write " + path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::success();
}

// Reads exactly size bytes at offset; a short file is a parse error (truncated under us).
Status pread_all(int fd, char* out, size_t size, uint64_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("read " + path);
    }
    if (n == 0) return Error::parse(path + ": file shorter than expected");
    out += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::success();
}

Status pwrite_all(int fd, const char* data, size_t size, uint64_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("write " + path);
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::success();
}

// --- Sources for the record walker: fetch(offset, length) with offset + length <= size(). The
// returned view is valid until the next fetch.

class MemorySource {
 public:
  explicit MemorySource(std::string_view image) : image_(image) {}
  uint64_t size() const { return image_.size(); }
  Result<std::string_view> fetch(uint64_t offset, size_t length) {
    return image_.substr(static_cast<size_t>(offset), length);
  }

 private:
  std::string_view image_;
};

class FileSource {
 public:
  FileSource(int fd, uint64_t size, const std::string& path) : fd_(fd), size_(size), path_(path) {}
  uint64_t size() const { return size_; }
  Result<std::string_view> fetch(uint64_t offset, size_t length) {
    uint64_t window_end = window_offset_ + window_.size();
    if (offset >= window_offset_ && offset + length <= window_end) {
      return std::string_view(window_).substr(static_cast<size_t>(offset - window_offset_), length);
    }
    size_t ahead = offset == window_end ? kSequentialReadAheadBytes : kSkipReadAheadBytes;
    size_t want = std::max(length, ahead);
    want = static_cast<size_t>(std::min<uint64_t>(want, size_ - offset));
    window_.resize(want);
    window_offset_ = offset;
    if (Status st = pread_all(fd_, window_.data(), want, offset, path_); !st) {
      window_.clear();
      return st.error();
    }
    return std::string_view(window_).substr(0, length);
  }

 private:
  int fd_;
  uint64_t size_;
  const std::string& path_;
  std::string window_;
  uint64_t window_offset_ = 0;
};

Error corrupt(uint64_t offset, std::string_view what) {
  return Error::parse("queue file corrupt at offset " + std::to_string(offset) + ": " +
                      std::string(what));
}

bool parse_time(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > kMaxTimeDigits) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

Status parse_recipient(std::string_view payload, uint64_t payload_offset, QueueEnvelope& env) {
  if (payload.empty()) return corrupt(payload_offset, "empty recipient record");
  char status = payload[0];
  if (status != static_cast<char>(RecipientStatus::kPending) &&
      status != static_cast<char>(RecipientStatus::kDone)) {
    return corrupt(payload_offset, "bad recipient status byte");
  }
  std::string_view rest = payload.substr(1);
  size_t first_nul = rest.find('\0');
  if (first_nul == std::string_view::npos) return corrupt(payload_offset, "recipient fields");
  size_t second_nul = rest.find('\0', first_nul + 1);
  if (second_nul == std::string_view::npos || rest.find('\0', second_nul + 1) != rest.npos) {
    return corrupt(payload_offset, "recipient fields");
  }
  if (first_nul == 0) return corrupt(payload_offset, "empty recipient address");
  QueueRecipient& rcpt = env.recipients.emplace_back();
  rcpt.address.assign(rest.substr(0, first_nul));
  rcpt.orcpt.assign(rest.substr(first_nul + 1, second_nul - first_nul - 1));
  rcpt.notify.assign(rest.substr(second_nul + 1));
  rcpt.status = static_cast<RecipientStatus>(status);
  rcpt.status_offset = payload_offset;
  return Status::success();
}

// The one record walker: every reader of queue files goes through here.
template <class Source>
Result<QueueEnvelope> walk_queue_records(Source& source,
                                         std::vector<std::pair<uint64_t, uint32_t>>* chunks) {
  QueueEnvelope env;
  const uint64_t size = source.size();
  uint64_t pos = 0;
  bool seen_version = false, seen_time = false, seen_schedule = false, seen_sender = false;
  while (true) {
    if (pos == size) return corrupt(pos, "no end record (truncated)");
    if (size - pos < kRecordHeaderBytes) return corrupt(pos, "truncated record header");
    Result<std::string_view> header = source.fetch(pos, kRecordHeaderBytes);
    if (!header) return header.error();
    const char type = (*header)[0];
    const uint32_t length = get_u32(header->data() + 1);
    const uint64_t payload_offset = pos + kRecordHeaderBytes;
    if (length > size - payload_offset) return corrupt(pos, "record longer than the file");
    if (!seen_version && type != 'V') return corrupt(pos, "first record is not a version");

    if (type == 'M') {
      if (length == 0 || length > kMaxMessageChunkBytes) {
        return corrupt(pos, "bad message chunk length");
      }
      if (chunks) chunks->emplace_back(payload_offset, length);
      env.message_bytes += length;
      pos = payload_offset + length;
      continue;
    }
    if (type == 'E') {
      if (length != 0) return corrupt(pos, "end record with a payload");
      if (payload_offset != size) return corrupt(payload_offset, "data after the end record");
      break;
    }
    if (length > kMaxEnvelopeRecordBytes) return Error::limit("queue file record too long");
    Result<std::string_view> fetched = source.fetch(payload_offset, length);
    if (!fetched) return fetched.error();
    std::string_view payload = *fetched;

    switch (type) {
      case 'V':
        if (seen_version) return corrupt(pos, "duplicate version record");
        if (payload != kQueueVersion) return corrupt(pos, "unsupported queue file version");
        seen_version = true;
        break;
      case 'T':
        if (seen_time) return corrupt(pos, "duplicate arrival time");
        if (!parse_time(payload, env.arrival_time)) return corrupt(pos, "bad arrival time");
        seen_time = true;
        break;
      case 'S':
        if (seen_schedule) return corrupt(pos, "duplicate schedule");
        if (payload.size() != kScheduleBytes) return corrupt(pos, "schedule is not 16 bytes");
        env.attempts = get_u32(payload.data());
        env.schedule_flags = get_u32(payload.data() + 4);
        env.next_attempt = static_cast<int64_t>(get_u64(payload.data() + 8));
        env.schedule_offset = payload_offset;
        seen_schedule = true;
        break;
      case 'F':
        if (seen_sender) return corrupt(pos, "duplicate sender");
        if (payload.find('\0') != payload.npos) return corrupt(pos, "NUL in sender");
        env.sender.assign(payload);
        seen_sender = true;
        break;
      case 'A': {
        if (env.attributes.size() >= kMaxQueueAttributes) {
          return Error::limit("queue file has too many attributes");
        }
        size_t equals = payload.find('=');
        if (equals == payload.npos || equals == 0) return corrupt(pos, "bad attribute");
        env.attributes.emplace_back(payload.substr(0, equals), payload.substr(equals + 1));
        break;
      }
      case 'R':
        if (env.recipients.size() >= kMaxQueueRecipients) {
          return Error::limit("queue file has too many recipients");
        }
        if (Status st = parse_recipient(payload, payload_offset, env); !st) return st.error();
        break;
      default:
        return corrupt(pos, "unknown record type");
    }
    pos = payload_offset + length;
  }
  if (!seen_time || !seen_schedule || !seen_sender) {
    return corrupt(pos, "missing arrival time, schedule or sender");
  }
  return env;
}

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status check_envelope(const QueueEnvelope& env) {
  if (!is_queue_id(env.queue_id)) return Error::parse("bad queue id");
  if (env.sender.size() > kMaxEnvelopeRecordBytes || env.sender.find('\0') != env.sender.npos) {
    return Error::limit("sender too long or contains NUL");
  }
  if (env.arrival_time < 0) return Error::parse("negative arrival time");
  if (env.attributes.size() > kMaxQueueAttributes) return Error::limit("too many attributes");
  for (const auto& [name, value] : env.attributes) {
    if (name.empty() || name.find('=') != name.npos) return Error::parse("bad attribute name");
    if (name.size() + 1 + value.size() > kMaxEnvelopeRecordBytes) {
      return Error::limit("attribute too long");
    }
  }
  if (env.recipients.size() > kMaxQueueRecipients) return Error::limit("too many recipients");
  for (const QueueRecipient& rcpt : env.recipients) {
    if (rcpt.address.empty()) return Error::parse("empty recipient address");
    if (rcpt.address.find('\0') != rcpt.address.npos || rcpt.orcpt.find('\0') != rcpt.orcpt.npos ||
        rcpt.notify.find('\0') != rcpt.notify.npos) {
      return Error::parse("NUL in recipient");
    }
    if (3 + rcpt.address.size() + rcpt.orcpt.size() + rcpt.notify.size() >
        kMaxEnvelopeRecordBytes) {
      return Error::limit("recipient too long");
    }
  }
  return Status::success();
}

}  // namespace

std::optional<std::string_view> QueueEnvelope::attribute(std::string_view name) const {
  for (const auto& [key, value] : attributes) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

// --- Writer

Result<QueueFileWriter> QueueFileWriter::create(const std::string& dir,
                                                const QueueEnvelope& envelope) {
  if (Status st = check_envelope(envelope); !st) return st.error();
  QueueFileWriter writer;
  writer.dir_ = dir;
  writer.queue_id_ = envelope.queue_id;
  writer.tmp_path_ = dir + "/." + envelope.queue_id + ".tmp";
  writer.fd_.reset(::open(writer.tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!writer.fd_) {
    writer.done_ = true;  // nothing of ours to unlink
    return Error::system("create " + writer.tmp_path_);
  }
  writer.buffer_.reserve(2 * kWriteBufferBytes + 2 * kRecordHeaderBytes);

  append_envelope_records(writer.buffer_, envelope);
  if (writer.buffer_.size() >= kWriteBufferBytes) {
    if (Status st = writer.flush_buffer(); !st) return st.error();
  }
  return writer;
}

QueueFileWriter::QueueFileWriter(QueueFileWriter&& other) noexcept
    : dir_(std::move(other.dir_)),
      queue_id_(std::move(other.queue_id_)),
      tmp_path_(std::move(other.tmp_path_)),
      fd_(std::move(other.fd_)),
      buffer_(std::move(other.buffer_)),
      open_chunk_at_(std::exchange(other.open_chunk_at_, std::string::npos)),
      message_bytes_(other.message_bytes_),
      done_(std::exchange(other.done_, true)) {}

QueueFileWriter& QueueFileWriter::operator=(QueueFileWriter&& other) noexcept {
  if (this != &other) {
    abort();
    dir_ = std::move(other.dir_);
    queue_id_ = std::move(other.queue_id_);
    tmp_path_ = std::move(other.tmp_path_);
    fd_ = std::move(other.fd_);
    buffer_ = std::move(other.buffer_);
    open_chunk_at_ = std::exchange(other.open_chunk_at_, std::string::npos);
    message_bytes_ = other.message_bytes_;
    done_ = std::exchange(other.done_, true);
  }
  return *this;
}

QueueFileWriter::~QueueFileWriter() {
  abort();
}

void QueueFileWriter::abort() {
  if (done_) return;
  done_ = true;
  fd_.reset();
  ::unlink(tmp_path_.c_str());
}

Status QueueFileWriter::flush_buffer() {
  if (open_chunk_at_ != std::string::npos) {
    size_t length = buffer_.size() - open_chunk_at_ - kRecordHeaderBytes;
    put_u32(buffer_.data() + open_chunk_at_ + 1, static_cast<uint32_t>(length));
    open_chunk_at_ = std::string::npos;
  }
  Status st = write_all(fd_.get(), buffer_.data(), buffer_.size(), tmp_path_);
  buffer_.clear();
  return st;
}

Status QueueFileWriter::append_message(std::string_view bytes) {
  if (done_) return Error::parse("queue file writer already closed");
  message_bytes_ += bytes.size();
  while (!bytes.empty()) {
    if (open_chunk_at_ == std::string::npos) {
      open_chunk_at_ = buffer_.size();
      append_record(buffer_, 'M', {});  // length patched when the chunk closes
    }
    size_t filled = buffer_.size() - open_chunk_at_ - kRecordHeaderBytes;
    size_t take = std::min(bytes.size(), kMaxMessageChunkBytes - filled);
    buffer_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (filled + take == kMaxMessageChunkBytes) {
      put_u32(buffer_.data() + open_chunk_at_ + 1, kMaxMessageChunkBytes);
      open_chunk_at_ = std::string::npos;
      if (buffer_.size() >= kWriteBufferBytes) {
        if (Status st = flush_buffer(); !st) return st;
      }
    }
  }
  return Status::success();
}

Status QueueFileWriter::commit() {
  if (done_) return Error::parse("queue file writer already closed");
  if (open_chunk_at_ != std::string::npos) {
    size_t length = buffer_.size() - open_chunk_at_ - kRecordHeaderBytes;
    put_u32(buffer_.data() + open_chunk_at_ + 1, static_cast<uint32_t>(length));
    open_chunk_at_ = std::string::npos;
  }
  append_record(buffer_, 'E', {});
  if (Status st = flush_buffer(); !st) return st;
  // fsync, not fdatasync: the file is new, its size and blocks are metadata we need.
  if (::fsync(fd_.get()) != 0) return Error::system("fsync " + tmp_path_);
  std::string final_path = dir_ + "/" + queue_id_;
  // Never replace an existing queue file, even if an ID were ever reused.
  if (::renameat2(AT_FDCWD, tmp_path_.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) !=
      0) {
    if (errno != EINVAL || ::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
      return Error::system("rename " + tmp_path_);
    }
  }
  done_ = true;
  fd_.reset();
  if (Status st = fsync_directory(dir_); !st) {
    // Not durable: take it back so that nobody delivers what the client will send again.
    ::unlink(final_path.c_str());
    return st;
  }
  return Status::success();
}

// --- Reader

Result<QueueEnvelope> parse_queue_file(std::string_view image,
                                       std::vector<std::pair<uint64_t, uint32_t>>* chunk_offsets) {
  MemorySource source(image);
  return walk_queue_records(source, chunk_offsets);
}

Result<std::string> encode_queue_file(const QueueEnvelope& envelope, std::string_view message) {
  if (Status st = check_envelope(envelope); !st) return st.error();
  std::string image;
  image.reserve(message.size() + message.size() / kMaxMessageChunkBytes * kRecordHeaderBytes +
                4096);
  append_envelope_records(image, envelope);
  while (!message.empty()) {
    size_t take = std::min<size_t>(message.size(), kMaxMessageChunkBytes);
    append_record(image, 'M', message.substr(0, take));
    message.remove_prefix(take);
  }
  append_record(image, 'E', {});
  return image;
}

Result<QueueFile> QueueFile::open(const std::string& path, bool writable) {
  QueueFile file;
  file.path_ = path;
  // A queue file is never a symlink: one in maildrop/ must not make pickup read its target.
  // O_NONBLOCK: a FIFO in place of a queue file must not hang the reader (it is then refused as
  // not a regular file); it changes nothing for a regular file.
  file.fd_.reset(
      ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!file.fd_) return Error::system("open " + path);
  struct stat st {};
  if (::fstat(file.fd_.get(), &st) != 0) return Error::system("fstat " + path);
  if (!S_ISREG(st.st_mode)) return Error::parse(path + ": not a regular file");
  FileSource source(file.fd_.get(), static_cast<uint64_t>(st.st_size), file.path_);
  Result<QueueEnvelope> envelope = walk_queue_records(source, &file.chunks_);
  if (!envelope) {
    Error error = envelope.error();
    error.message = path + ": " + error.message;
    return error;
  }
  file.envelope_ = std::move(envelope).value();
  file.envelope_.queue_id = basename_of(path);
  return file;
}

Status QueueFile::for_each_message_chunk(const std::function<Status(std::string_view)>& fn) const {
  std::string block;
  size_t index = 0;
  while (index < chunks_.size()) {
    // Group chunks into one read of at most kMessageReadBytes.
    const uint64_t start = chunks_[index].first;
    size_t end_index = index;
    uint64_t end = start;
    while (end_index < chunks_.size()) {
      uint64_t chunk_end = chunks_[end_index].first + chunks_[end_index].second;
      if (end_index > index && chunk_end - start > kMessageReadBytes) break;
      end = chunk_end;
      ++end_index;
    }
    block.resize(static_cast<size_t>(end - start));
    if (Status st = pread_all(fd_.get(), block.data(), block.size(), start, path_); !st) {
      return st;
    }
    for (; index < end_index; ++index) {
      std::string_view chunk(block.data() + (chunks_[index].first - start), chunks_[index].second);
      if (Status st = fn(chunk); !st) return st;
    }
  }
  return Status::success();
}

Status QueueFile::read_message_chunk(size_t index, std::string& out) const {
  if (index >= chunks_.size()) return Error::parse(path_ + ": no such message chunk");
  out.resize(chunks_[index].second);
  return pread_all(fd_.get(), out.data(), out.size(), chunks_[index].first, path_);
}

Result<std::string> QueueFile::read_message() const {
  std::string message;
  message.reserve(static_cast<size_t>(envelope_.message_bytes));
  Status st = for_each_message_chunk([&message](std::string_view chunk) {
    message.append(chunk);
    return Status::success();
  });
  if (!st) return st.error();
  return message;
}

Status QueueFile::mark_recipient_done(size_t index) {
  return mark_recipients_done(std::vector<size_t>{index});
}

Status QueueFile::mark_recipients_done(const std::vector<size_t>& indexes) {
  for (size_t index : indexes) {
    if (index >= envelope_.recipients.size()) {
      return Error::parse("no recipient " + std::to_string(index) + " in " + path_);
    }
  }
  const char done = static_cast<char>(RecipientStatus::kDone);
  bool written = false;
  for (size_t index : indexes) {
    QueueRecipient& rcpt = envelope_.recipients[index];
    if (rcpt.status == RecipientStatus::kDone) continue;
    if (Status st = pwrite_all(fd_.get(), &done, 1, rcpt.status_offset, path_); !st) return st;
    rcpt.status = RecipientStatus::kDone;
    written = true;
  }
  if (written && ::fdatasync(fd_.get()) != 0) return Error::system("fdatasync " + path_);
  return Status::success();
}

Status QueueFile::update_schedule(uint32_t attempts, int64_t next_attempt) {
  return update_schedule(attempts, next_attempt, envelope_.schedule_flags);
}

Status QueueFile::update_schedule(uint32_t attempts, int64_t next_attempt, uint32_t flags) {
  char schedule[kScheduleBytes];
  encode_schedule(schedule, attempts, next_attempt, flags);
  if (Status st = pwrite_all(fd_.get(), schedule, kScheduleBytes, envelope_.schedule_offset, path_);
      !st) {
    return st;
  }
  if (::fdatasync(fd_.get()) != 0) return Error::system("fdatasync " + path_);
  envelope_.attempts = attempts;
  envelope_.next_attempt = next_attempt;
  envelope_.schedule_flags = flags;
  return Status::success();
}

namespace {

void append_defer_field(std::string& out, std::string_view text) {
  size_t limit = std::min(text.size(), kMaxDeferFieldBytes);
  for (size_t i = 0; i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c >= 0x7f) ? '?' : static_cast<char>(c);
  }
}

}  // namespace

std::string format_defer_reasons(const std::vector<DeferReason>& reasons) {
  std::string out;
  size_t lines = 0;
  for (const DeferReason& item : reasons) {
    if (++lines > kMaxDeferLines) break;
    append_defer_field(out, item.address);
    out += '\t';
    append_defer_field(out, item.dsn);
    out += '\t';
    append_defer_field(out, item.reason);
    out += '\n';
  }
  return out;
}

std::vector<DeferReason> parse_defer_reasons(std::string_view text) {
  std::vector<DeferReason> reasons;
  size_t pos = 0;
  while (pos < text.size() && reasons.size() < kMaxDeferLines) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t tab1 = line.find('\t');
    if (tab1 == std::string_view::npos) continue;
    size_t tab2 = line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos) continue;
    DeferReason item;
    item.address = std::string(line.substr(0, std::min(tab1, kMaxDeferFieldBytes)));
    item.dsn = std::string(line.substr(tab1 + 1, std::min(tab2 - tab1 - 1, kMaxDeferFieldBytes)));
    item.reason = std::string(line.substr(tab2 + 1).substr(0, kMaxDeferFieldBytes));
    reasons.push_back(std::move(item));
  }
  return reasons;
}

Status write_defer_reasons(const std::string& defer_dir, std::string_view queue_id,
                           const std::vector<DeferReason>& reasons) {
  if (::mkdir(defer_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error::system("mkdir " + defer_dir);
  }
  const std::string path = defer_dir + "/" + std::string(queue_id);
  const std::string tmp = defer_dir + "/." + std::string(queue_id) + ".tmp";
  const std::string text = format_defer_reasons(reasons);
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return Error::system("open " + tmp);
    if (Status st = write_all(fd.get(), text.data(), text.size(), tmp); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = Error::system("rename " + tmp);
    ::unlink(tmp.c_str());
    return error;
  }
  return Status::success();
}

}  // namespace postern
