// qmgr's private/qmgr service: smtpd (and submission, pickup) connect and send
// "request=nudge [queue_id=ID]"; qmgr replies "status=ok" and looks at incoming/ at once. A lost
// nudge only delays (qmgr scans every second). `postern queue flush` sends "request=flush" and
// hears "status=ok count=N" (N deferred files made due now). Runs in postern-qmgr. Trusts nothing a
// peer sends: records are decoded with lib/queue/ipc.hpp's bounds, a queue ID is used only when it has
// the queue ID shape. Bounded by kMaxNudgeConnections and kNudgeTimeoutSeconds per connection.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>

#include "lib/base/unique_fd.hpp"

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
  using FlushHandler = std::function<size_t()>;  // returns how many files it made due
  NudgeListener(event_base* base, UniqueFd listen_fd, Handler handler,
                FlushHandler flush_handler = nullptr);
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
  FlushHandler flush_handler_;
  std::set<bufferevent*> connections_;
  std::set<bufferevent*> closing_;  // reply written, closed once it has drained
};

}  // namespace postern
