// Tests qmgr/nudge_listener on a real Unix socket: a nudge reaches the nudge handler and gets
// status=ok; every other request (flush, the admin's delete/hold/...) reaches the control handler
// and its reply comes back as it was made; without a control handler such a request only loses
// its connection; a malformed frame is dropped without a reply.
#include "qmgr/nudge_listener.hpp"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "lib/base/event_handles.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/queue/queue_dir.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

UniqueFd listen_on(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  EXPECT_LT(path.size(), sizeof addr.sun_path);
  std::copy(path.begin(), path.end(), addr.sun_path);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  return fd;
}

// Runs the event loop until the client thread is done.
void serve_until_done(event_base* base, std::thread& client, std::atomic<bool>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done && std::chrono::steady_clock::now() < deadline) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  client.join();
}

TEST(NudgeListener, NudgesAndControlRequestsGoToTheirHandlers) {
  test_support::TempDir tmp("nudge_listener_test");
  const std::string path = tmp.path() + "/qmgr";
  EventBaseHandle base(event_base_new());
  std::vector<std::string> nudged;
  std::vector<std::string> controls;
  NudgeListener listener(
      base.get(), listen_on(path),
      [&](std::optional<std::string> queue_id) { nudged.push_back(queue_id.value_or("-")); },
      [&](const AttrRecord& request) {
        controls.emplace_back(request.get("request").value_or("?"));
        AttrRecord reply;
        reply.add("status", "ok");
        reply.add("count", int64_t{7});
        return reply;
      });

  const std::string queue_id = new_queue_id();
  std::atomic<bool> done{false};
  Result<AttrRecord> nudge_reply = Error::parse("not called");
  Result<AttrRecord> flush_reply = Error::parse("not called");
  Result<AttrRecord> delete_reply = Error::parse("not called");
  std::thread client([&] {
    AttrRecord nudge;
    nudge.add("request", "nudge");
    nudge.add("queue_id", queue_id);
    nudge_reply = ipc_call(path, nudge, 5000);
    AttrRecord flush;
    flush.add("request", "flush");
    flush_reply = ipc_call(path, flush, 5000);
    AttrRecord remove;
    remove.add("request", "delete");
    remove.add("queue_id", queue_id);
    delete_reply = ipc_call(path, remove, 5000);
    done = true;
  });
  serve_until_done(base.get(), client, done);

  ASSERT_TRUE(nudge_reply.ok()) << nudge_reply.error().describe();
  EXPECT_EQ(nudge_reply->get("status"), std::optional<std::string_view>("ok"));
  ASSERT_TRUE(flush_reply.ok()) << flush_reply.error().describe();
  EXPECT_EQ(flush_reply->get_int("count"), std::optional<int64_t>(7));
  ASSERT_TRUE(delete_reply.ok()) << delete_reply.error().describe();
  EXPECT_EQ(nudged, std::vector<std::string>{queue_id});
  EXPECT_EQ(controls, (std::vector<std::string>{"flush", "delete"}));
}

TEST(NudgeListener, WithoutAControlHandlerOtherRequestsAreDropped) {
  test_support::TempDir tmp("nudge_listener_test");
  const std::string path = tmp.path() + "/qmgr";
  EventBaseHandle base(event_base_new());
  size_t nudges = 0;
  NudgeListener listener(base.get(), listen_on(path),
                         [&](std::optional<std::string>) { ++nudges; });
  std::atomic<bool> done{false};
  Result<AttrRecord> flush_reply = Error::parse("not called");
  bool garbage_answered = true;
  std::thread client([&] {
    AttrRecord flush;
    flush.add("request", "flush");
    flush_reply = ipc_call(path, flush, 5000);
    // A frame whose payload is not a record: the connection is closed, no reply.
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::copy(path.begin(), path.end(), addr.sun_path);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const char frame[] = {0, 0, 0, 3, 9, 9, 9};
      (void)::write(fd.get(), frame, sizeof frame);
      garbage_answered = ipc_receive(fd.get(), 5000).ok();
    }
    done = true;
  });
  serve_until_done(base.get(), client, done);
  EXPECT_FALSE(flush_reply.ok());
  EXPECT_FALSE(garbage_answered);
  EXPECT_EQ(nudges, 0u);
}

}  // namespace
}  // namespace postern
