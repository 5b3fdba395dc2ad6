// IPC attribute records between Postern processes (smtpd -> qmgr nudges, qmgr -> delivery and
// relay requests and their replies) over Unix stream sockets under the queue directory.
// The peer is another Postern process, but a record is read as if hostile: the frame length is
// checked against kMaxIpcRecordBytes before anything is buffered, then the version, the count
// against kMaxIpcAttributes, every field against what is left, and nothing may be left over.
// The blocking helpers (ipc_call, ipc_send, ipc_receive) never wait past their deadline and
// never raise SIGPIPE.
#include "lib/queue/ipc.hpp"

#include <event2/buffer.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>

#include "lib/base/log.hpp"

namespace postern {
namespace {

constexpr size_t kFrameHeaderBytes = 4;
constexpr size_t kPayloadHeaderBytes = 1 + 4;  // version, count
constexpr size_t kAttrHeaderBytes = 2 + 4;     // name_len, value_len

void put_u16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

void put_u32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

uint32_t get_u32(const char* in) {
  auto byte = [in](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  return (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
}

uint16_t get_u16(const char* in) {
  return static_cast<uint16_t>((static_cast<unsigned char>(in[0]) << 8) |
                               static_cast<unsigned char>(in[1]));
}

using Clock = std::chrono::steady_clock;

Error timed_out(std::string what) {
  return Error{ErrorKind::kTemporary, std::move(what) + ": timed out", ETIMEDOUT};
}

// Waits until fd is ready for events or the deadline passes.
Status wait_ready(int fd, short events, Clock::time_point deadline, const char* what) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return timed_out(what);
    pollfd pfd{fd, events, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system(what);
    }
    if (n > 0) return Status::success();  // ready, or an error recv/send will report
  }
}

Status send_all(int fd, const char* data, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      data += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Error::system("ipc send");
    if (Status st = wait_ready(fd, POLLOUT, deadline, "ipc send"); !st) return st;
  }
  return Status::success();
}

Status recv_all(int fd, char* out, size_t size, Clock::time_point deadline) {
  while (size > 0) {
    ssize_t n = ::recv(fd, out, size, MSG_DONTWAIT);
    if (n > 0) {
      out += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Error{ErrorKind::kTemporary, "ipc receive: connection closed by peer", 0};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Error::system("ipc receive");
    if (Status st = wait_ready(fd, POLLIN, deadline, "ipc receive"); !st) return st;
  }
  return Status::success();
}

Clock::time_point deadline_after(int timeout_ms) {
  return Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
}

Status check_encodable(const AttrRecord& record, size_t frame_bytes) {
  if (record.attributes().size() > kMaxIpcAttributes) {
    return Error::limit("ipc record has too many attributes");
  }
  if (frame_bytes - kFrameHeaderBytes > kMaxIpcRecordBytes) {
    return Error::limit("ipc record too long");
  }
  return Status::success();
}

}  // namespace

AttrRecord& AttrRecord::add(std::string_view name, std::string_view value) {
  attrs_.emplace_back(name, value);
  return *this;
}

AttrRecord& AttrRecord::add(std::string_view name, int64_t value) {
  return add(name, std::string_view(std::to_string(value)));
}

std::optional<std::string_view> AttrRecord::get(std::string_view name) const {
  for (const auto& [key, value] : attrs_) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<int64_t> AttrRecord::get_int(std::string_view name) const {
  std::optional<std::string_view> text = get(name);
  if (!text || text->empty()) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::vector<std::string_view> AttrRecord::get_all(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [key, value] : attrs_) {
    if (key == name) values.emplace_back(value);
  }
  return values;
}

std::string AttrRecord::encode() const {
  size_t payload_bytes = kPayloadHeaderBytes;
  for (const auto& [name, value] : attrs_) {
    // Names are our own constants and values are bounded by the record limit: anything this
    // large is a bug of ours, not input.
    if (name.size() > std::numeric_limits<uint16_t>::max() ||
        value.size() > std::numeric_limits<uint32_t>::max()) {
      log::panic("ipc attribute too large to encode: " + log::printable(name));
    }
    payload_bytes += kAttrHeaderBytes + name.size() + value.size();
  }
  if (payload_bytes > std::numeric_limits<uint32_t>::max() ||
      attrs_.size() > std::numeric_limits<uint32_t>::max()) {
    log::panic("ipc record too large to encode");
  }
  std::string out;
  out.reserve(kFrameHeaderBytes + payload_bytes);
  put_u32(out, static_cast<uint32_t>(payload_bytes));
  out.push_back(static_cast<char>(kIpcVersion));
  put_u32(out, static_cast<uint32_t>(attrs_.size()));
  for (const auto& [name, value] : attrs_) {
    put_u16(out, static_cast<uint16_t>(name.size()));
    out.append(name);
    put_u32(out, static_cast<uint32_t>(value.size()));
    out.append(value);
  }
  return out;
}

Result<AttrRecord> decode_attr_payload(std::string_view payload) {
  if (payload.size() > kMaxIpcRecordBytes) return Error::limit("ipc record too long");
  if (payload.size() < kPayloadHeaderBytes) return Error::parse("ipc record too short");
  if (static_cast<uint8_t>(payload[0]) != kIpcVersion) {
    return Error::parse("ipc record has an unknown version");
  }
  uint32_t count = get_u32(payload.data() + 1);
  if (count > kMaxIpcAttributes) return Error::limit("ipc record has too many attributes");
  // Every attribute takes at least kAttrHeaderBytes: refuse a count the payload cannot hold
  // before reserving anything for it.
  std::string_view rest = payload.substr(kPayloadHeaderBytes);
  if (count > rest.size() / kAttrHeaderBytes) {
    return Error::parse("ipc record count exceeds its length");
  }
  AttrRecord record;
  for (uint32_t i = 0; i < count; ++i) {
    if (rest.size() < 2) return Error::parse("ipc record truncated in a name length");
    size_t name_len = get_u16(rest.data());
    rest.remove_prefix(2);
    if (rest.size() < name_len) return Error::parse("ipc record truncated in a name");
    std::string_view name = rest.substr(0, name_len);
    rest.remove_prefix(name_len);
    if (rest.size() < 4) return Error::parse("ipc record truncated in a value length");
    size_t value_len = get_u32(rest.data());
    rest.remove_prefix(4);
    if (rest.size() < value_len) return Error::parse("ipc record truncated in a value");
    record.add(name, rest.substr(0, value_len));
    rest.remove_prefix(value_len);
  }
  if (!rest.empty()) return Error::parse("ipc record has bytes left over");
  return record;
}

std::optional<Result<AttrRecord>> take_attr_record(evbuffer* buf) {
  size_t available = evbuffer_get_length(buf);
  if (available < kFrameHeaderBytes) return std::nullopt;
  char header[kFrameHeaderBytes];
  if (evbuffer_copyout(buf, header, kFrameHeaderBytes) != static_cast<ev_ssize_t>(sizeof header)) {
    return Result<AttrRecord>(Error::system("evbuffer_copyout", EIO));
  }
  uint32_t length = get_u32(header);
  // Refuse at once: waiting for the rest would buffer what we will never accept.
  if (length > kMaxIpcRecordBytes) return Result<AttrRecord>(Error::limit("ipc record too long"));
  if (available - kFrameHeaderBytes < length) return std::nullopt;
  evbuffer_drain(buf, kFrameHeaderBytes);
  std::string payload(length, '\0');
  if (length > 0 &&
      evbuffer_copyout(buf, payload.data(), length) != static_cast<ev_ssize_t>(length)) {
    return Result<AttrRecord>(Error::system("evbuffer_copyout", EIO));
  }
  evbuffer_drain(buf, length);
  return decode_attr_payload(payload);
}

Status ipc_send(int fd, const AttrRecord& record, int timeout_ms) {
  std::string frame = record.encode();
  if (Status st = check_encodable(record, frame.size()); !st) return st;
  return send_all(fd, frame.data(), frame.size(), deadline_after(timeout_ms));
}

Result<AttrRecord> ipc_receive(int fd, int timeout_ms) {
  Clock::time_point deadline = deadline_after(timeout_ms);
  char header[kFrameHeaderBytes];
  if (Status st = recv_all(fd, header, sizeof header, deadline); !st) return st.error();
  uint32_t length = get_u32(header);
  if (length > kMaxIpcRecordBytes) return Error::limit("ipc record too long");
  std::string payload(length, '\0');
  if (Status st = recv_all(fd, payload.data(), length, deadline); !st) return st.error();
  return decode_attr_payload(payload);
}

Result<AttrRecord> ipc_call(const std::string& socket_path, const AttrRecord& request,
                            int timeout_ms) {
  Clock::time_point deadline = deadline_after(timeout_ms);
  std::string frame = request.encode();
  if (Status st = check_encodable(request, frame.size()); !st) return st.error();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return Error::limit("ipc socket path too long: " + socket_path);
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::system("socket");
  // A Unix-socket connect only waits when the listener's backlog is full; SO_SNDTIMEO bounds
  // that wait (Linux honours it for AF_UNIX connect).
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
  if (left.count() <= 0) return timed_out("ipc connect " + socket_path);
  timeval tv{static_cast<time_t>(left.count() / 1000000),
             static_cast<suseconds_t>(left.count() % 1000000)};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return Error::system("setsockopt SO_SNDTIMEO");
  }
  while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EISCONN) break;
    if (errno == EINTR && Clock::now() < deadline) continue;
    if (errno == EAGAIN || errno == EINPROGRESS) return timed_out("ipc connect " + socket_path);
    return Error::system("connect " + socket_path);
  }

  if (Status st = send_all(fd.get(), frame.data(), frame.size(), deadline); !st) {
    return st.error();
  }
  auto remaining =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (remaining <= 0) return timed_out("ipc call " + socket_path);
  return ipc_receive(fd.get(), static_cast<int>(remaining));
}

}  // namespace postern
