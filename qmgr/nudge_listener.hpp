// qmgr's private/qmgr service: smtpd (and submission, pickup) connect and send
// "request=nudge [queue_id=ID]"; qmgr replies "status=ok" and looks at incoming/ at once. A lost
// nudge only delays (qmgr scans every second). Every other request (the `postern queue` commands:
// flush, delete, hold, release, requeue; lib/queue/queue_control.hpp) goes to the control
// handler, whose reply record is sent back. Runs in postern-qmgr. Trusts nothing a peer sends:
// records are decoded with lib/queue/ipc.hpp's bounds, a queue ID is used only when it has the
// queue ID shape, the control handler decodes its own. Bounded by kMaxNudgeConnections and
// kNudgeTimeoutSeconds per connection; one request per connection.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>

#include "lib/base/unique_fd.hpp"
#include "lib/queue/ipc.hpp"

struct event_base;
struct evconnlistener;
struct bufferevent;
struct sockaddr;

namespace postern {

inline constexpr size_t kMaxNudgeConnections = 256;
inline constexpr int kNudgeTimeoutSeconds = 10;

class NudgeListener {
 public:
  using Handler = std::function<void(std::optional<std::string> queue_id)>;
  // Any request but nudge: returns the reply record.
  using ControlHandler = std::function<AttrRecord(const AttrRecord& request)>;
  NudgeListener(event_base* base, UniqueFd listen_fd, Handler handler,
                ControlHandler control_handler = nullptr);
  NudgeListener(const NudgeListener&) = delete;
  NudgeListener& operator=(const NudgeListener&) = delete;
  ~NudgeListener();
  void stop();

 private:
  static void on_accept(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void close_connection(bufferevent* bev);

  event_base* base_;
  evconnlistener* listener_ = nullptr;
  Handler handler_;
  ControlHandler control_handler_;
  std::set<bufferevent*> connections_;
  std::set<bufferevent*> closing_;  // reply written, closed once it has drained
};

}  // namespace postern
