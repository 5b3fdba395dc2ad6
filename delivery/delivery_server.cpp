// The postern-delivery service loop on private/delivery: IpcServer (lib/queue/ipc_server.hpp) accepts,
// reads the length-prefixed request records and writes the replies; here each request is checked
// and handed to the disk workers, whose result comes back on the loop thread as the reply. Trusts
// no record it has not decoded and checked; a bad record or a peer past kMaxDeliveryConnections is
// dropped. One request per connection at a time (qmgr waits for the reply before the next), so
// buffered input is bounded by one IPC record per connection.
#include "delivery_server.hpp"

#include <memory>
#include <utility>

namespace postern {

DeliveryServer::DeliveryServer(event_base* base, UniqueFd listen_fd, DeliverySettings settings)
    : settings_(std::move(settings)),
      workers_(base, kDiskWorkerThreads),
      server_(base, std::move(listen_fd), kMaxDeliveryConnections, "delivery",
              [this](AttrRecord record, IpcServer::ReplyFn reply) {
                return handle(std::move(record), std::move(reply));
              }) {}

DeliveryServer::~DeliveryServer() = default;

void DeliveryServer::stop(std::function<void()> on_stopped) {
  server_.stop(std::move(on_stopped));
}

Status DeliveryServer::handle(AttrRecord record, IpcServer::ReplyFn reply) {
  Result<DeliveryRequest> request = parse_delivery_request(record, settings_);
  if (!request) return request.error();
  auto shared = std::make_shared<DeliveryRequest>(std::move(request).value());
  // The worker encodes the reply; WorkerThreads hands it back on the loop thread, where reply may
  // run. A reply for a connection qmgr hung up is dropped: it retries, the Maildir has the copy.
  workers_.submit([this, shared] { return deliver_request(*shared, settings_).encode(); },
                  std::move(reply));
  return Status::success();
}

}  // namespace postern
