// IPC records between Postern processes over Unix stream sockets (private/qmgr,
// private/delivery, ...). One request record, one reply record.
// Frame:   length:u32 big-endian | payload[length]            (length <= kMaxIpcRecordBytes)
// Payload: version:u8 (=1) | count:u32 | count x ( name_len:u16 name | value_len:u32 value )
// (count <= kMaxIpcAttributes; all integers big-endian)
// Names may repeat (e.g. one "rcpt" per recipient); order is kept. A reader checks the length
// first, then the version, every field against what is left, and that nothing is left over.
// The attribute names each request uses are listed at the end of this file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

struct evbuffer;

namespace postern {

inline constexpr uint32_t kMaxIpcRecordBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxIpcAttributes = 200000;
inline constexpr uint8_t kIpcVersion = 1;

class AttrRecord {
 public:
  AttrRecord& add(std::string_view name, std::string_view value);
  AttrRecord& add(std::string_view name, int64_t value);
  // First value with that name.
  std::optional<std::string_view> get(std::string_view name) const;
  std::optional<int64_t> get_int(std::string_view name) const;
  // Every value with that name, in order.
  std::vector<std::string_view> get_all(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& attributes() const { return attrs_; }

  // Length-prefixed frame ready to write.
  std::string encode() const;

 private:
  std::vector<std::pair<std::string, std::string>> attrs_;
};

// Decodes one payload (without the length prefix).
Result<AttrRecord> decode_attr_payload(std::string_view payload);

// For libevent readers: if buf holds a whole frame, removes it and returns the decoded record
// (or the error: the caller drops the connection). nullopt: wait for more bytes.
std::optional<Result<AttrRecord>> take_attr_record(evbuffer* buf);

// Blocking client call with a deadline: connect to a Unix socket, send request, read reply.
Result<AttrRecord> ipc_call(const std::string& socket_path, const AttrRecord& request,
                            int timeout_ms);
// Blocking helpers on an already-connected socket.
Status ipc_send(int fd, const AttrRecord& record, int timeout_ms);
Result<AttrRecord> ipc_receive(int fd, int timeout_ms);

// Requests (attribute "request" names the kind):
//   to qmgr (private/qmgr):   request=nudge  [queue_id=ID]           reply: status=ok
//   to delivery:              request=deliver queue_id=ID path=FILE sender=ADDR
//                             then per recipient, in order: rcpt=ADDRESS index=N
//                             mailbox=user@domain (one or more, the resolved mailboxes, right
//                             after their rcpt)
//                             reply: per recipient, in order: index=N status=sent|deferred|bounced
//                                    dsn=X.Y.Z reason=TEXT
//   to relay (private/relay): request=deliver queue_id=ID path=FILE sender=ADDR nexthop=NEXTHOP
//                             then per recipient, in order: rcpt=ADDRESS index=N
//                             NEXTHOP as in relayhost and transport_maps: "[host]:port" or
//                             "[host]" (no MX lookup), "host:port" or "host" (MX lookup of host;
//                             for direct delivery qmgr sends the recipient domain). All recipients
//                             of one request share the next hop. relay reads DSN options (RET,
//                             ENVID, NOTIFY, ORCPT) and the message from the queue file.
//                             reply: as delivery's, and per recipient optionally
//                                    remote_mta=HOST (the server that answered) and
//                                    diagnostic=TEXT (its reply, "550 5.1.1 ...", for the DSN's
//                                    Diagnostic-Code). relay logs each to=<...> line itself.
//   to qmgr (private/qmgr):   request=flush [domain=D]; request=delete|hold|release|requeue
//                             queue_id=ID...: the `postern queue` commands, described with their
//                             replies in lib/queue/queue_control.hpp
}  // namespace postern
