// private/local service loop of postern-local (see local_server.hpp).
#include "local/local_server.hpp"

#include <memory>

#include "lib/queue/deliver_request.hpp"
#include "local/local_delivery.hpp"

namespace postern::local {

LocalServer::LocalServer(event_base* base, UniqueFd listen_fd, LocalSettings settings,
                         ExpansionSources sources)
    : settings_(std::move(settings)),
      sources_(std::move(sources)),
      workers_(base, kLocalWorkerThreads),
      server_(base, std::move(listen_fd), kMaxLocalConnections, "local",
              [this](AttrRecord record, IpcServer::ReplyFn reply) {
                return handle(std::move(record), std::move(reply));
              }) {}

LocalServer::~LocalServer() = default;

void LocalServer::stop(std::function<void()> on_stopped) { server_.stop(std::move(on_stopped)); }

Status LocalServer::handle(AttrRecord record, IpcServer::ReplyFn reply) {
  Result<DeliverRequest> request =
      parse_deliver_request(record, settings_.queue.active(), DeliverService::kLocal);
  if (!request) return request.error();
  auto shared = std::make_shared<DeliverRequest>(std::move(request).value());
  workers_.submit(
      [this, shared] { return deliver_local_request(*shared, settings_, sources_).encode(); },
      std::move(reply));
  return Status::success();
}

}  // namespace postern::local
