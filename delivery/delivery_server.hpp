// The postern-delivery service loop: accepts qmgr's connections on private/delivery (fd 3), reads
// request records (lib/ipc.hpp), hands each one to a disk worker thread (maildir_delivery) and
// writes the reply when it is done. A connection carries one request at a time, any number one
// after the other; several connections are served at once. Trusts only local peers that can
// reach the private socket, and even then checks every record: a malformed one ends the
// connection. Bounded by kMaxDeliveryConnections and the IPC record limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "delivery/disk_workers.hpp"
#include "delivery/maildir_delivery.hpp"
#include "lib/unique_fd.hpp"

struct event_base;
struct evconnlistener;
struct bufferevent;
struct sockaddr;

namespace postern {

inline constexpr size_t kMaxDeliveryConnections = 256;

class DeliveryServer {
 public:
  DeliveryServer(event_base* base, UniqueFd listen_fd, DeliverySettings settings);
  DeliveryServer(const DeliveryServer&) = delete;
  DeliveryServer& operator=(const DeliveryServer&) = delete;
  ~DeliveryServer();

  // Stops accepting; each connection closes once its request in progress is answered and the
  // reply written. on_stopped runs when the last one is gone.
  void stop(std::function<void()> on_stopped);

 private:
  struct Connection {
    DeliveryServer* server = nullptr;
    uint64_t id = 0;
    bufferevent* bev = nullptr;
    bool busy = false;  // a request is with the disk workers
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
  DeliverySettings settings_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
  DiskWorkers workers_;  // last: its threads stop before the settings they read go away
};

}  // namespace postern
