// qmgr's side of private/delivery, private/relay and private/local: sends one request record per
// call on a pooled Unix-socket connection and calls back with the reply record, or with an error
// when the service cannot be reached, closes the connection, or does not answer in time.
// Asynchronous (libevent bufferevents); runs in postern-qmgr. Trusts nothing in a reply it has
// not decoded (lib/queue/ipc.hpp limits). The caller bounds how many calls are in flight; at most
// kMaxIdleConnections stay open between calls.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>

#include "lib/queue/ipc.hpp"
#include "lib/base/result.hpp"

struct event_base;
struct bufferevent;

namespace postern {

inline constexpr size_t kMaxIdleConnections = 64;

class ServiceClient {
 public:
  using Callback = std::function<void(Result<AttrRecord>)>;

  ServiceClient(event_base* base, std::string socket_path, int reply_timeout_seconds);
  ServiceClient(const ServiceClient&) = delete;
  ServiceClient& operator=(const ServiceClient&) = delete;
  ~ServiceClient();  // drops every connection; pending callbacks are not called

  // Sends request; done is called exactly once, later, from the event loop.
  void call(const AttrRecord& request, Callback done);
  size_t in_flight() const { return busy_count_; }

 private:
  struct Connection;
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  Connection* open_connection();
  void start(Connection* conn);
  void finish(Connection* conn, Result<AttrRecord> result, bool keep);
  void drop(Connection* conn);
  static bool still_open(Connection* conn);

  event_base* base_;
  std::string socket_path_;
  int reply_timeout_seconds_;
  std::list<std::unique_ptr<Connection>> connections_;
  size_t busy_count_ = 0;
};

}  // namespace postern
