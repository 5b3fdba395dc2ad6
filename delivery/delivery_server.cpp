// The postern-delivery service loop on private/delivery: accept, read length-prefixed request
// records, hand them to the disk workers, write each reply when its delivery is done. Trusts no
// record it has not decoded and checked; a bad record or a peer past kMaxDeliveryConnections is
// dropped. One request per connection at a time (qmgr waits for the reply before the next), so
// buffered input is bounded by one IPC record per connection.
#include "delivery_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <utility>
#include <vector>

#include "lib/log.hpp"

namespace postern {

DeliveryServer::DeliveryServer(event_base* base, UniqueFd listen_fd, DeliverySettings settings)
    : base_(base), settings_(std::move(settings)), workers_(base, kDiskWorkerThreads) {
  // backlog 0: the master already called listen(). The listener owns the descriptor from here.
  listener_ = evconnlistener_new(base_, &DeliveryServer::on_accept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd.get());
  if (!listener_) log::fatal("cannot listen on the delivery socket");
  listen_fd.release();
}

DeliveryServer::~DeliveryServer() {
  if (listener_) evconnlistener_free(listener_);
  for (auto& [id, conn] : connections_) bufferevent_free(conn->bev);
}

void DeliveryServer::stop(std::function<void()> on_stopped) {
  stopping_ = true;
  on_stopped_ = std::move(on_stopped);
  if (listener_) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
  }
  // A request in progress is finished and its reply written first: qmgr must hear every result.
  std::vector<Connection*> done;
  for (auto& [id, conn] : connections_) {
    if (idle(conn.get())) done.push_back(conn.get());
  }
  for (Connection* conn : done) close_connection(conn);
  check_stopped();
}

bool DeliveryServer::idle(const Connection* conn) const {
  return !conn->busy && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0;
}

void DeliveryServer::check_stopped() {
  if (stopping_ && connections_.empty() && on_stopped_) std::exchange(on_stopped_, nullptr)();
}

void DeliveryServer::on_accept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  auto* self = static_cast<DeliveryServer*>(arg);
  if (self->connections_.size() >= kMaxDeliveryConnections) {
    log::warning("too many delivery connections ({}), dropping one", kMaxDeliveryConnections);
    UniqueFd drop(fd);
    return;
  }
  bufferevent* bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    UniqueFd drop(fd);
    return;
  }
  auto conn = std::make_unique<Connection>();
  conn->server = self;
  conn->id = self->next_id_++;
  conn->bev = bev;
  Connection* raw = conn.get();
  self->connections_.emplace(raw->id, std::move(conn));
  bufferevent_setcb(bev, &DeliveryServer::on_read, &DeliveryServer::on_write,
                    &DeliveryServer::on_event, raw);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void DeliveryServer::on_read(bufferevent*, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  conn->server->serve(conn);
}

void DeliveryServer::serve(Connection* conn) {
  if (conn->busy || stopping_) return;  // one request at a time; no new work when stopping
  std::optional<Result<AttrRecord>> record = take_attr_record(bufferevent_get_input(conn->bev));
  if (!record) return;  // wait for the rest of the frame
  if (!record->ok()) {
    log::warning("bad delivery request record: {}", record->error().describe());
    close_connection(conn);
    return;
  }
  Result<DeliveryRequest> request = parse_delivery_request(record->value(), settings_);
  if (!request) {
    log::warning("bad delivery request: {}", request.error().describe());
    close_connection(conn);
    return;
  }
  conn->busy = true;
  auto shared = std::make_shared<DeliveryRequest>(std::move(request).value());
  const uint64_t id = conn->id;
  workers_.submit([this, shared] { return deliver_request(*shared, settings_).encode(); },
                  [this, id](std::string frame) { reply_done(id, std::move(frame)); });
}

void DeliveryServer::reply_done(uint64_t id, std::string frame) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;  // qmgr hung up; it will retry, the Maildir has the copy
  Connection* conn = it->second.get();
  conn->busy = false;
  if (bufferevent_write(conn->bev, frame.data(), frame.size()) != 0) {
    close_connection(conn);
    return;
  }
  serve(conn);  // a next request may already be waiting
}

void DeliveryServer::on_write(bufferevent*, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  DeliveryServer* self = conn->server;
  if (self->stopping_ && self->idle(conn)) self->close_connection(conn);
}

void DeliveryServer::on_event(bufferevent*, short what, void* arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    auto* conn = static_cast<Connection*>(arg);
    conn->server->close_connection(conn);
  }
}

void DeliveryServer::close_connection(Connection* conn) {
  auto it = connections_.find(conn->id);
  if (it == connections_.end()) return;
  bufferevent_free(conn->bev);
  connections_.erase(it);
  check_stopped();
}

}  // namespace postern
