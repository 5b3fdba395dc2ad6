// The postern-delivery service loop: accepts qmgr's connections on private/delivery (fd 3), reads
// request records (lib/ipc.hpp), carries each one out (maildir_delivery) and writes the reply.
// A connection may carry any number of requests, one after the other. Trusts only local peers
// that can reach the private socket, and even then checks every record: a malformed one ends
// the connection. Bounded by kMaxDeliveryConnections and the IPC record limit.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <set>

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

  // Stops accepting and closes every connection once its replies are written (no request is
  // half done: work is synchronous); on_stopped runs when the last one is gone.
  void stop(std::function<void()> on_stopped);

 private:
  static void on_accept(evconnlistener* listener, int fd, sockaddr* addr, int len,
                        void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void close_connection(bufferevent* bev);
  void check_stopped();

  event_base* base_;
  evconnlistener* listener_ = nullptr;
  DeliverySettings settings_;
  std::set<bufferevent*> connections_;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
};

}  // namespace postern
