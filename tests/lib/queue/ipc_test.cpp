// Tests for lib/queue/ipc.cpp: encode/decode round trips, every malformed payload refused (truncated
// at every byte, wrong version, count beyond the payload, bytes left over), the record size and
// attribute count limits at N and N+1, byte-by-byte feeding through an evbuffer, and the
// blocking helpers over real Unix sockets (round trip, large records, timeouts, closed peers).
#include "lib/queue/ipc.hpp"

#include <event2/buffer.h>
#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <thread>

namespace postern {
namespace {

namespace fs = std::filesystem;

// One fresh directory per test, named after this file.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("ipc_test") {}
};

class EvBuffer {
 public:
  EvBuffer() : buf_(evbuffer_new()) {}
  ~EvBuffer() { evbuffer_free(buf_); }
  evbuffer* get() const { return buf_; }

 private:
  evbuffer* buf_;
};

UniqueFd listen_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 8), 0);
  return fd;
}

std::string payload_of(const AttrRecord& record) {
  return record.encode().substr(4);
}

// A payload with `count` attributes, built by hand (not by encode()).
std::string raw_payload(uint32_t count, std::string_view body) {
  std::string p(1, static_cast<char>(kIpcVersion));
  p.push_back(static_cast<char>(count >> 24));
  p.push_back(static_cast<char>(count >> 16));
  p.push_back(static_cast<char>(count >> 8));
  p.push_back(static_cast<char>(count));
  p.append(body);
  return p;
}

AttrRecord sample_record() {
  AttrRecord r;
  r.add("request", "deliver")
      .add("queue_id", "0123456789ABCDEF")
      .add("rcpt", "a@example.org")
      .add("index", int64_t{0})
      .add("rcpt", "b@example.org")
      .add("index", int64_t{1})
      .add("binary", std::string_view("\0\xff\r\n", 4))
      .add("", "")
      .add("count", int64_t{-42});
  return r;
}

TEST(IpcTest, RoundTrip) {
  AttrRecord original = sample_record();
  std::string frame = original.encode();
  uint32_t length = (static_cast<uint32_t>(static_cast<unsigned char>(frame[0])) << 24) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(frame[1])) << 16) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(frame[2])) << 8) |
                    static_cast<unsigned char>(frame[3]);
  EXPECT_EQ(length, frame.size() - 4);
  Result<AttrRecord> decoded = decode_attr_payload(std::string_view(frame).substr(4));
  ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
  EXPECT_EQ(decoded->attributes(), original.attributes());
  EXPECT_EQ(decoded->get("request"), std::optional<std::string_view>("deliver"));
  EXPECT_EQ(decoded->get("binary")->size(), 4u);
  EXPECT_FALSE(decoded->get("absent").has_value());
  std::vector<std::string_view> rcpts = decoded->get_all("rcpt");
  ASSERT_EQ(rcpts.size(), 2u);
  EXPECT_EQ(rcpts[0], "a@example.org");
  EXPECT_EQ(rcpts[1], "b@example.org");
  EXPECT_EQ(decoded->get_int("index"), std::optional<int64_t>(0));
  EXPECT_EQ(decoded->get_int("count"), std::optional<int64_t>(-42));
  EXPECT_FALSE(decoded->get_int("request").has_value());
}

TEST(IpcTest, EmptyRecord) {
  AttrRecord empty;
  std::string frame = empty.encode();
  EXPECT_EQ(frame.size(), 4u + 5u);
  Result<AttrRecord> decoded = decode_attr_payload(std::string_view(frame).substr(4));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->attributes().empty());
}

TEST(IpcTest, GetIntIsStrict) {
  AttrRecord r;
  r.add("a", "12x").add("b", "").add("c", "99999999999999999999").add("d", " 1").add("e", "+1");
  r.add("f", "9223372036854775807").add("g", "-9223372036854775808");
  EXPECT_FALSE(r.get_int("a").has_value());
  EXPECT_FALSE(r.get_int("b").has_value());
  EXPECT_FALSE(r.get_int("c").has_value());
  EXPECT_FALSE(r.get_int("d").has_value());
  EXPECT_FALSE(r.get_int("e").has_value());
  EXPECT_EQ(r.get_int("f"), std::optional<int64_t>(INT64_MAX));
  EXPECT_EQ(r.get_int("g"), std::optional<int64_t>(INT64_MIN));
}

TEST(IpcTest, MalformedPayloadsAreRefused) {
  const std::string good = payload_of(sample_record());
  ASSERT_TRUE(decode_attr_payload(good).ok());
  for (size_t size = 0; size < good.size(); ++size) {
    EXPECT_FALSE(decode_attr_payload(std::string_view(good).substr(0, size)).ok())
        << "accepted a cut at " << size;
  }
  EXPECT_FALSE(decode_attr_payload(good + "x").ok());  // left over
  std::string wrong_version = good;
  wrong_version[0] = 2;
  EXPECT_FALSE(decode_attr_payload(wrong_version).ok());
  // A count larger than what follows.
  EXPECT_FALSE(decode_attr_payload(raw_payload(1, "")).ok());
  EXPECT_FALSE(decode_attr_payload(raw_payload(2, std::string(6, '\0'))).ok());
  EXPECT_TRUE(decode_attr_payload(raw_payload(1, std::string(6, '\0'))).ok());
  // A value length pointing past the end.
  EXPECT_FALSE(decode_attr_payload(raw_payload(1, std::string("\0\0\0\0\0\x01", 6))).ok());
  // A huge count in a tiny payload is refused without reserving memory for it.
  EXPECT_FALSE(decode_attr_payload(raw_payload(0xFFFFFFFF, "")).ok());
}

TEST(IpcTest, AttributeCountLimit) {
  std::string body;
  body.reserve((kMaxIpcAttributes + 1) * 6);
  for (size_t i = 0; i < kMaxIpcAttributes; ++i) body.append(6, '\0');
  Result<AttrRecord> ok = decode_attr_payload(raw_payload(kMaxIpcAttributes, body));
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  EXPECT_EQ(ok->attributes().size(), kMaxIpcAttributes);
  body.append(6, '\0');
  Result<AttrRecord> over = decode_attr_payload(raw_payload(kMaxIpcAttributes + 1, body));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

// A record whose payload is exactly payload_bytes long (one attribute "v").
AttrRecord record_of_payload_size(size_t payload_bytes) {
  AttrRecord r;
  r.add("v", std::string(payload_bytes - 5 - 6 - 1, 'x'));
  return r;
}

TEST(IpcTest, RecordSizeLimit) {
  AttrRecord at_limit = record_of_payload_size(kMaxIpcRecordBytes);
  std::string frame = at_limit.encode();
  ASSERT_EQ(frame.size(), 4u + kMaxIpcRecordBytes);
  EXPECT_TRUE(decode_attr_payload(std::string_view(frame).substr(4)).ok());
  AttrRecord over = record_of_payload_size(kMaxIpcRecordBytes + 1);
  std::string over_frame = over.encode();
  Result<AttrRecord> refused = decode_attr_payload(std::string_view(over_frame).substr(4));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kLimit);

  EvBuffer buf;
  evbuffer_add(buf.get(), frame.data(), frame.size());
  std::optional<Result<AttrRecord>> taken = take_attr_record(buf.get());
  ASSERT_TRUE(taken.has_value());
  EXPECT_TRUE(taken->ok());
  // Past the limit, the length alone is enough to refuse: no waiting for 4 MiB more.
  EvBuffer buf2;
  evbuffer_add(buf2.get(), over_frame.data(), 4);
  taken = take_attr_record(buf2.get());
  ASSERT_TRUE(taken.has_value());
  ASSERT_FALSE(taken->ok());
  EXPECT_EQ(taken->error().kind, ErrorKind::kLimit);

  // The sending side refuses too.
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  Status st = ipc_send(a.get(), over, 1000);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kLimit);
}

TEST(IpcTest, TakeRecordFedByteByByte) {
  AttrRecord first = sample_record();
  AttrRecord second;
  second.add("status", "ok");
  const std::string stream = first.encode() + second.encode();
  const size_t first_size = first.encode().size();
  EvBuffer buf;
  std::vector<AttrRecord> got;
  for (size_t i = 0; i < stream.size(); ++i) {
    evbuffer_add(buf.get(), &stream[i], 1);
    std::optional<Result<AttrRecord>> taken = take_attr_record(buf.get());
    bool frame_complete = (i + 1 == first_size) || (i + 1 == stream.size());
    ASSERT_EQ(taken.has_value(), frame_complete) << "at byte " << i;
    if (taken) {
      ASSERT_TRUE(taken->ok()) << taken->error().describe();
      got.push_back(std::move(*taken).value());
      EXPECT_EQ(evbuffer_get_length(buf.get()), 0u);
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].attributes(), first.attributes());
  EXPECT_EQ(got[1].attributes(), second.attributes());
}

TEST(IpcTest, TakeRecordWithTwoFramesAtOnceAndABadOne) {
  AttrRecord r;
  r.add("request", "nudge");
  std::string stream = r.encode() + r.encode();
  EvBuffer buf;
  evbuffer_add(buf.get(), stream.data(), stream.size());
  for (int i = 0; i < 2; ++i) {
    std::optional<Result<AttrRecord>> taken = take_attr_record(buf.get());
    ASSERT_TRUE(taken.has_value());
    ASSERT_TRUE(taken->ok());
    EXPECT_EQ(taken->value().get("request"), std::optional<std::string_view>("nudge"));
  }
  EXPECT_FALSE(take_attr_record(buf.get()).has_value());
  // A whole frame that does not decode is an error, not a wait.
  std::string bad = r.encode();
  bad[4] = 9;  // version
  evbuffer_add(buf.get(), bad.data(), bad.size());
  std::optional<Result<AttrRecord>> taken = take_attr_record(buf.get());
  ASSERT_TRUE(taken.has_value());
  EXPECT_FALSE(taken->ok());
}

TEST(IpcTest, CallOverAUnixSocket) {
  TempDir tmp;
  std::string path = tmp.path() + "/qmgr";
  UniqueFd listener = listen_unix(path);
  std::thread server([&listener] {
    UniqueFd conn(::accept(listener.get(), nullptr, nullptr));
    ASSERT_TRUE(conn.valid());
    Result<AttrRecord> request = ipc_receive(conn.get(), 5000);
    ASSERT_TRUE(request.ok()) << request.error().describe();
    AttrRecord reply;
    reply.add("status", "ok").add("echo", request->get("queue_id").value_or("none"));
    ASSERT_TRUE(ipc_send(conn.get(), reply, 5000).ok());
  });
  AttrRecord request;
  request.add("request", "nudge").add("queue_id", "0123456789ABCDEF");
  Result<AttrRecord> reply = ipc_call(path, request, 5000);
  server.join();
  ASSERT_TRUE(reply.ok()) << reply.error().describe();
  EXPECT_EQ(reply->get("status"), std::optional<std::string_view>("ok"));
  EXPECT_EQ(reply->get("echo"), std::optional<std::string_view>("0123456789ABCDEF"));
}

TEST(IpcTest, LargeRecordOverASocketPair) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  AttrRecord big;
  for (int i = 0; i < 3000; ++i)
    big.add("rcpt", std::string(1000, static_cast<char>('a' + i % 26)));
  std::thread sender([&] { EXPECT_TRUE(ipc_send(a.get(), big, 10000).ok()); });
  Result<AttrRecord> got = ipc_receive(b.get(), 10000);
  sender.join();
  ASSERT_TRUE(got.ok()) << got.error().describe();
  EXPECT_EQ(got->attributes(), big.attributes());
}

TEST(IpcTest, CallTimesOutWhenNobodyAnswers) {
  TempDir tmp;
  std::string path = tmp.path() + "/silent";
  UniqueFd listener = listen_unix(path);  // listens, never accepts or answers
  AttrRecord request;
  request.add("request", "nudge");
  Result<AttrRecord> reply = ipc_call(path, request, 200);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().kind, ErrorKind::kTemporary);
  EXPECT_EQ(reply.error().sys_errno, ETIMEDOUT);
}

TEST(IpcTest, ReceiveFailsWhenThePeerClosesMidFrame) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  std::string frame = sample_record().encode();
  ASSERT_EQ(::send(a.get(), frame.data(), frame.size() - 1, 0),
            static_cast<ssize_t>(frame.size() - 1));
  a.reset();
  Result<AttrRecord> got = ipc_receive(b.get(), 2000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::kTemporary);
  // Sending to a closed peer is an error, not SIGPIPE.
  EXPECT_FALSE(ipc_send(b.get(), sample_record(), 2000).ok());
}

TEST(IpcTest, ReceiveRefusesAnOversizedLength) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  const char header[4] = {0x00, 0x40, 0x00, 0x01};  // kMaxIpcRecordBytes + 1
  ASSERT_EQ(::send(a.get(), header, 4, 0), 4);
  Result<AttrRecord> got = ipc_receive(b.get(), 2000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::kLimit);
}

TEST(IpcTest, CallRefusesBadPaths) {
  AttrRecord request;
  request.add("request", "nudge");
  Result<AttrRecord> too_long = ipc_call("/tmp/" + std::string(200, 'x'), request, 1000);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().kind, ErrorKind::kLimit);
  TempDir tmp;
  Result<AttrRecord> missing = ipc_call(tmp.path() + "/nobody", request, 1000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kSystem);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace postern
