// The postern-delivery service loop: accepts qmgr's connections on private/delivery (fd 3) and
// reads request records through an IpcServer (lib/queue/ipc_server.hpp), hands each one to a disk
// worker thread (maildir_delivery) and writes the reply when it is done. A connection carries one
// request at a time, any number one after the other; several connections are served at once.
// Trusts only local peers that can reach the private socket, and even then checks every record:
// a malformed one ends the connection. Bounded by kMaxDeliveryConnections and the IPC record
// limit.
#pragma once

#include <cstddef>
#include <functional>

#include "lib/net/worker_threads.hpp"
#include "delivery/maildir_delivery.hpp"
#include "lib/queue/ipc_server.hpp"
#include "lib/base/unique_fd.hpp"

struct event_base;

namespace postern {

inline constexpr size_t kMaxDeliveryConnections = 256;
inline constexpr size_t kDiskWorkerThreads = 8;

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
  Status handle(AttrRecord record, IpcServer::ReplyFn reply);

  DeliverySettings settings_;
  // After the settings: its threads stop before the settings they read go away. Before the
  // server: connections close first, as before; a finished job's reply never runs after that
  // (WorkerThreads drops what the loop has not picked up).
  WorkerThreads workers_;
  IpcServer server_;
};

}  // namespace postern
