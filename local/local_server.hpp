// The postern-local service on private/local: IpcServer (lib/queue/ipc_server.hpp) reads qmgr's
// request=deliver records, each is checked (parse_deliver_request, kLocal: the queue file must
// be under active/), and a worker thread delivers it (local_delivery) while the loop goes on;
// the reply goes back on the loop thread. Trusts only qmgr's private socket, and even then only
// what it checked. Bounded by kMaxLocalConnections and kLocalWorkerThreads deliveries at once
// (local_destination_concurrency_limit in qmgr keeps it lower).
#pragma once

#include <functional>

#include "lib/base/unique_fd.hpp"
#include "lib/net/worker_threads.hpp"
#include "lib/queue/ipc_server.hpp"
#include "local/local_settings.hpp"
#include "local/recipient_expansion.hpp"

struct event_base;

namespace postern::local {

inline constexpr size_t kMaxLocalConnections = 64;
inline constexpr size_t kLocalWorkerThreads = 4;

class LocalServer {
 public:
  LocalServer(event_base* base, UniqueFd listen_fd, LocalSettings settings,
              ExpansionSources sources);
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  ~LocalServer();

  void stop(std::function<void()> on_stopped);

 private:
  Status handle(AttrRecord record, IpcServer::ReplyFn reply);

  LocalSettings settings_;
  ExpansionSources sources_;
  WorkerThreads workers_;  // after what its jobs read, before the server (see delivery_server)
  IpcServer server_;
};

}  // namespace postern::local
