// Tests for lib/queue/ipc_server.cpp over a real Unix socket in a temp directory and a real libevent
// loop driven from the test thread: one request and its reply, two requests in a row on one
// connection (the second waits for the first's reply), a malformed frame or a refused request
// closing the connection, the connection bound at N (served) and N+1 (dropped), a reply for a
// peer that hung up, and stop: idle connections close at once, a busy one gets its reply first,
// then on_stopped runs. Every wait polls a condition, bounded in time.
#include "lib/queue/ipc_server.hpp"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

constexpr auto kWaitLimit = std::chrono::seconds(5);

class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("ipc_server_test") {}
};

// Non-blocking, as the master hands the daemons their sockets.
UniqueFd listen_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  return fd;
}

// A blocking client socket; -1 inside if connect() failed.
UniqueFd connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return UniqueFd();
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

AttrRecord request_numbered(int64_t n) {
  AttrRecord r;
  r.add("request", "ping").add("n", n);
  return r;
}

// True once fd has a whole frame waiting (length prefix and payload), without consuming it.
bool frame_waiting(int fd) {
  std::string buf(64 * 1024, '\0');
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(buf.data());
  const size_t length = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  return static_cast<size_t>(n) >= 4 + length;
}

// True once the peer closed fd and nothing is left to read.
bool at_eof(int fd) {
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

// One event loop plus an IpcServer whose handler keeps each request and its reply function for
// the test to answer when it chooses (from the loop thread, outside the handler, as owners do).
class Fixture {
 public:
  explicit Fixture(size_t max_connections) : base_(event_base_new()) {
    path_ = tmp_.path() + "/service";
    // A persistent tick so that one EVLOOP_ONCE turn never blocks for long.
    tick_ = event_new(base_, -1, EV_PERSIST, [](int, short, void*) {}, nullptr);
    timeval ten_ms{0, 10000};
    event_add(tick_, &ten_ms);
    server_ = std::make_unique<IpcServer>(
        base_, listen_unix(path_), max_connections, "test",
        [this](AttrRecord request, IpcServer::ReplyFn reply) -> Status {
          if (request.get("request") == std::optional<std::string_view>("refuse")) {
            return Error::parse("refused by the test handler");
          }
          pending_.push_back(Pending{std::move(request), std::move(reply)});
          return Status::success();
        });
  }
  ~Fixture() {
    pending_.clear();
    server_.reset();
    event_free(tick_);
    event_base_free(base_);
  }

  // Runs the loop until pred() holds; false if kWaitLimit passed first.
  bool run_until(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return true;
  }
  // Lets the loop handle whatever is ready now (for checking that something did NOT happen):
  // a bounded number of non-blocking turns.
  void run_ready() {
    for (int i = 0; i < 20; ++i) event_base_loop(base_, EVLOOP_ONCE | EVLOOP_NONBLOCK);
  }

  struct Pending {
    AttrRecord request;
    IpcServer::ReplyFn reply;
  };

  const std::string& path() const { return path_; }
  IpcServer& server() { return *server_; }
  std::vector<Pending>& pending() { return pending_; }

 private:
  TempDir tmp_;
  std::string path_;
  event_base* base_;
  event* tick_ = nullptr;
  std::unique_ptr<IpcServer> server_;
  std::vector<Pending> pending_;
};

std::string reply_frame(int64_t n) {
  AttrRecord r;
  r.add("status", "ok").add("n", n);
  return r.encode();
}

// Reads one reply from fd once the loop has written it.
std::optional<int64_t> read_reply_n(Fixture& f, int fd) {
  if (!f.run_until([fd] { return frame_waiting(fd); })) return std::nullopt;
  Result<AttrRecord> reply = ipc_receive(fd, 1000);
  if (!reply) return std::nullopt;
  if (reply->get("status") != std::optional<std::string_view>("ok")) return std::nullopt;
  return reply->get_int("n");
}

TEST(IpcServerTest, OneRequestOneReply) {
  Fixture f(4);
  UniqueFd client = connect_unix(f.path());
  ASSERT_TRUE(client.valid());
  send_all(client.get(), request_numbered(7).encode());
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 1; }));
  EXPECT_EQ(f.pending()[0].request.get("request"), std::optional<std::string_view>("ping"));
  EXPECT_EQ(f.pending()[0].request.get_int("n"), std::optional<int64_t>(7));
  f.pending()[0].reply(reply_frame(70));
  EXPECT_EQ(read_reply_n(f, client.get()), std::optional<int64_t>(70));
  EXPECT_EQ(f.server().connection_count(), 1u);  // the connection stays open for more
}

TEST(IpcServerTest, RequestFedByteByByte) {
  Fixture f(4);
  UniqueFd client = connect_unix(f.path());
  ASSERT_TRUE(client.valid());
  const std::string frame = request_numbered(3).encode();
  for (size_t i = 0; i + 1 < frame.size(); ++i) {
    send_all(client.get(), frame.substr(i, 1));
    f.run_ready();
    ASSERT_TRUE(f.pending().empty()) << "handler called after " << i + 1 << " bytes";
  }
  send_all(client.get(), frame.substr(frame.size() - 1));
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 1; }));
  EXPECT_EQ(f.pending()[0].request.get_int("n"), std::optional<int64_t>(3));
}

TEST(IpcServerTest, TwoRequestsInARowOnOneConnection) {
  Fixture f(4);
  UniqueFd client = connect_unix(f.path());
  ASSERT_TRUE(client.valid());
  // Both frames in one write: the second must wait until the first is answered.
  send_all(client.get(), request_numbered(1).encode() + request_numbered(2).encode());
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 1; }));
  f.run_ready();
  ASSERT_EQ(f.pending().size(), 1u) << "a second request was served before the first's reply";
  EXPECT_EQ(f.pending()[0].request.get_int("n"), std::optional<int64_t>(1));

  f.pending()[0].reply(reply_frame(10));
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 2; }));
  EXPECT_EQ(f.pending()[1].request.get_int("n"), std::optional<int64_t>(2));
  EXPECT_EQ(read_reply_n(f, client.get()), std::optional<int64_t>(10));
  f.pending()[1].reply(reply_frame(20));
  EXPECT_EQ(read_reply_n(f, client.get()), std::optional<int64_t>(20));
}

TEST(IpcServerTest, MalformedFrameClosesTheConnection) {
  Fixture f(4);
  UniqueFd good = connect_unix(f.path());
  UniqueFd bad = connect_unix(f.path());
  ASSERT_TRUE(good.valid() && bad.valid());
  ASSERT_TRUE(f.run_until([&] { return f.server().connection_count() == 2; }));
  // A whole frame whose payload has version 2: decodable length, undecodable record.
  send_all(bad.get(), std::string("\x00\x00\x00\x05\x02\x00\x00\x00\x00", 9));
  ASSERT_TRUE(f.run_until([&] { return at_eof(bad.get()); }));
  EXPECT_TRUE(f.pending().empty());
  EXPECT_EQ(f.server().connection_count(), 1u);
  // The other connection is not affected.
  send_all(good.get(), request_numbered(5).encode());
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 1; }));
  f.pending()[0].reply(reply_frame(50));
  EXPECT_EQ(read_reply_n(f, good.get()), std::optional<int64_t>(50));
}

TEST(IpcServerTest, OversizedLengthClosesTheConnection) {
  Fixture f(4);
  UniqueFd client = connect_unix(f.path());
  ASSERT_TRUE(client.valid());
  const uint32_t length = kMaxIpcRecordBytes + 1;
  std::string prefix;
  for (int shift = 24; shift >= 0; shift -= 8) prefix.push_back(static_cast<char>(length >> shift));
  send_all(client.get(), prefix);
  ASSERT_TRUE(f.run_until([&] { return at_eof(client.get()); }));
  EXPECT_TRUE(f.pending().empty());
}

TEST(IpcServerTest, RefusedRequestClosesTheConnection) {
  Fixture f(4);
  UniqueFd client = connect_unix(f.path());
  ASSERT_TRUE(client.valid());
  AttrRecord refuse;
  refuse.add("request", "refuse");
  // A valid request after it must not be served: the connection is gone.
  send_all(client.get(), refuse.encode() + request_numbered(1).encode());
  ASSERT_TRUE(f.run_until([&] { return at_eof(client.get()); }));
  EXPECT_TRUE(f.pending().empty());
  EXPECT_EQ(f.server().connection_count(), 0u);
}

TEST(IpcServerTest, ConnectionBoundAtNAndNPlusOne) {
  constexpr size_t kBound = 3;
  Fixture f(kBound);
  std::vector<UniqueFd> clients;
  for (size_t i = 0; i < kBound; ++i) {
    clients.push_back(connect_unix(f.path()));
    ASSERT_TRUE(clients.back().valid());
  }
  ASSERT_TRUE(f.run_until([&] { return f.server().connection_count() == kBound; }));

  // N+1: accepted by the kernel, then dropped by the server.
  UniqueFd extra = connect_unix(f.path());
  ASSERT_TRUE(extra.valid());
  ASSERT_TRUE(f.run_until([&] { return at_eof(extra.get()); }));
  EXPECT_EQ(f.server().connection_count(), kBound);

  // All N are served.
  for (size_t i = 0; i < kBound; ++i) {
    send_all(clients[i].get(), request_numbered(static_cast<int64_t>(i)).encode());
  }
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == kBound; }));
  for (Fixture::Pending& p : f.pending()) p.reply(reply_frame(*p.request.get_int("n") + 100));
  for (size_t i = 0; i < kBound; ++i) {
    EXPECT_EQ(read_reply_n(f, clients[i].get()), std::optional<int64_t>(static_cast<int64_t>(i) + 100));
  }

  // Once one closes, a new connection fits again.
  clients[0].reset();
  ASSERT_TRUE(f.run_until([&] { return f.server().connection_count() == kBound - 1; }));
  UniqueFd again = connect_unix(f.path());
  ASSERT_TRUE(again.valid());
  ASSERT_TRUE(f.run_until([&] { return f.server().connection_count() == kBound; }));
  EXPECT_FALSE(at_eof(again.get()));
}

TEST(IpcServerTest, ReplyAfterThePeerHungUpIsDropped) {
  Fixture f(4);
  UniqueFd client = connect_unix(f.path());
  ASSERT_TRUE(client.valid());
  send_all(client.get(), request_numbered(1).encode());
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 1; }));
  client.reset();
  ASSERT_TRUE(f.run_until([&] { return f.server().connection_count() == 0; }));
  f.pending()[0].reply(reply_frame(1));  // no connection to write to: nothing happens
  f.run_ready();
  EXPECT_EQ(f.server().connection_count(), 0u);
}

TEST(IpcServerTest, StopWithNoConnectionsFinishesAtOnce) {
  Fixture f(4);
  bool stopped = false;
  f.server().stop([&] { stopped = true; });
  EXPECT_TRUE(stopped);
  EXPECT_FALSE(connect_unix(f.path()).valid());  // nobody listens any more
}

TEST(IpcServerTest, StopWaitsForTheBusyConnectionsReply) {
  Fixture f(4);
  UniqueFd busy = connect_unix(f.path());
  UniqueFd idle = connect_unix(f.path());
  ASSERT_TRUE(busy.valid() && idle.valid());
  // The busy one also has a second request queued behind the first: it is not served.
  send_all(busy.get(), request_numbered(1).encode() + request_numbered(2).encode());
  ASSERT_TRUE(f.run_until([&] { return f.pending().size() == 1; }));
  ASSERT_EQ(f.server().connection_count(), 2u);

  bool stopped = false;
  f.server().stop([&] { stopped = true; });
  EXPECT_EQ(f.server().connection_count(), 1u);  // the idle one closed at once
  EXPECT_FALSE(stopped);
  EXPECT_FALSE(connect_unix(f.path()).valid());  // no longer accepting
  ASSERT_TRUE(f.run_until([&] { return at_eof(idle.get()); }));
  f.run_ready();
  EXPECT_FALSE(stopped);
  EXPECT_FALSE(at_eof(busy.get()));

  f.pending()[0].reply(reply_frame(11));
  ASSERT_TRUE(f.run_until([&] { return stopped; }));
  EXPECT_EQ(f.server().connection_count(), 0u);
  EXPECT_EQ(f.pending().size(), 1u);  // the queued second request never reached the handler
  // The reply was written before the connection closed.
  Result<AttrRecord> reply = ipc_receive(busy.get(), 1000);
  ASSERT_TRUE(reply.ok()) << reply.error().describe();
  EXPECT_EQ(reply->get_int("n"), std::optional<int64_t>(11));
  EXPECT_TRUE(at_eof(busy.get()));
}

}  // namespace
}  // namespace postern
