// Reads a queue file for postern-relay (see queued_message.hpp): record headers walked with
// pread, each checked against the file size and kMaxMessageChunkBytes.
#include "relay/queued_message.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace postern::relay {

namespace {

constexpr size_t kRecordHeaderBytes = 5;

Status pread_exact(int fd, char* out, size_t length, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read " + path);
    if (n == 0) return Error::parse(path + ": truncated");
    done += static_cast<size_t>(n);
  }
  return {};
}

bool has_high_byte(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

}  // namespace

Result<std::shared_ptr<QueuedMessage>> QueuedMessage::open(const std::string& path) {
  Result<QueueFile> file = QueueFile::open(path, false);
  if (!file) return file.error();
  std::shared_ptr<QueuedMessage> message(new QueuedMessage(std::move(file).value()));
  if (Status located = message->locate_chunks(); !located) return located.error();
  return message;
}

Status QueuedMessage::locate_chunks() {
  struct stat st {};
  if (::fstat(file_.fd(), &st) != 0) return Error::system("fstat " + file_.path());
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0;
  uint64_t total = 0;
  std::string chunk;
  // Every record is at least its header: the loop ends within size / 5 rounds.
  while (offset + kRecordHeaderBytes <= size) {
    char header[kRecordHeaderBytes];
    if (Status st = pread_exact(file_.fd(), header, sizeof header, offset, file_.path()); !st) {
      return st;
    }
    const char type = header[0];
    const uint32_t length = (static_cast<uint32_t>(static_cast<unsigned char>(header[1])) << 24) |
                            (static_cast<uint32_t>(static_cast<unsigned char>(header[2])) << 16) |
                            (static_cast<uint32_t>(static_cast<unsigned char>(header[3])) << 8) |
                            static_cast<uint32_t>(static_cast<unsigned char>(header[4]));
    const uint64_t payload = offset + kRecordHeaderBytes;
    if (payload + length > size) return Error::parse(file_.path() + ": record past the end");
    if (type == 'E') break;
    if (type == 'M') {
      if (length > kMaxMessageChunkBytes) return Error::limit(file_.path() + ": chunk too big");
      chunks_.emplace_back(payload, length);
      total += length;
      if (!eight_bit_) {
        if (Status st = read_chunk(chunks_.size() - 1, chunk); !st) return st;
        eight_bit_ = has_high_byte(chunk);
      }
    }
    offset = payload + length;
  }
  if (total != file_.envelope().message_bytes) {
    return Error::parse(file_.path() + ": message chunks do not add up");
  }
  return {};
}

Status QueuedMessage::read_chunk(size_t index, std::string& out) const {
  if (index >= chunks_.size()) return Error::parse("no such message chunk");
  out.resize(chunks_[index].second);
  return pread_exact(file_.fd(), out.data(), out.size(), chunks_[index].first, file_.path());
}

}  // namespace postern::relay
