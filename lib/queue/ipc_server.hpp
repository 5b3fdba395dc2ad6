// The server side of a request/reply IPC socket (lib/queue/ipc.hpp records), shared by the daemons
// qmgr calls: postern-delivery on private/delivery and postern-relay on private/relay. Owns the
// listener (the master's fd 3) and the connections; hands each decoded request to the owner's
// handler and writes the reply frame the owner gives back, possibly much later. A connection
// carries one request at a time, any number one after the other; several connections are served
// at once. Trusts only local peers that can reach the private socket, and even then checks every
// record: a malformed one, or one the handler refuses, ends the connection. Bounded by the
// connection limit the owner passes and the IPC record limit (one request is read at a time, so
// buffered input is one record per connection).
//
// Stopping: stop accepting, close the idle connections, let a busy one finish (its reply is
// written, then it closes), and run on_stopped once the last connection is gone. Single-threaded:
// everything here, the ReplyFn included, runs on the event loop's thread; an owner with worker
// threads posts their results to the loop itself before replying.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "lib/queue/ipc.hpp"
#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

struct event_base;
struct evconnlistener;
struct bufferevent;
struct sockaddr;

namespace postern {

class IpcServer {
 public:
  // Writes one encoded reply frame (AttrRecord::encode()) on the connection the request came
  // from, then serves that connection's next request. Call once, from the loop thread, after the
  // handler has returned and while the IpcServer exists; if the peer hung up meanwhile the reply
  // is dropped.
  using ReplyFn = std::function<void(std::string frame)>;
  // Takes one decoded request. An error means the request is unusable: it is logged and the
  // connection closed, and reply must not be kept. Otherwise reply must be called eventually
  // (never from inside the handler), or the connection stays busy.
  using Handler = std::function<Status(AttrRecord request, ReplyFn reply)>;

  // word names the service in log lines ("delivery", "relay"). Takes over listen_fd, on which
  // the master already called listen(); fatal if libevent cannot listen on it.
  IpcServer(event_base* base, UniqueFd listen_fd, size_t max_connections, std::string word,
            Handler handler);
  IpcServer(const IpcServer&) = delete;
  IpcServer& operator=(const IpcServer&) = delete;
  ~IpcServer();

  // Stops accepting; each connection closes once its request in progress is answered and the
  // reply written. on_stopped runs when the last one is gone (at once if none is open).
  void stop(std::function<void()> on_stopped);

  size_t connection_count() const { return connections_.size(); }

 private:
  struct Connection {
    IpcServer* server = nullptr;
    uint64_t id = 0;
    bufferevent* bev = nullptr;
    bool busy = false;  // a request is with the handler, not answered yet
  };
  static void on_accept(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void serve(Connection* conn);
  void reply_done(uint64_t id, std::string frame);
  bool idle(const Connection* conn) const;
  void close_connection(Connection* conn);
  void check_stopped();

  event_base* base_;
  evconnlistener* listener_ = nullptr;
  size_t max_connections_;
  std::string word_;
  Handler handler_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
};

}  // namespace postern
