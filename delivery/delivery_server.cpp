// The postern-delivery service loop on private/delivery: accept, read length-prefixed request
// records, deliver, reply. Trusts no record it has not decoded and checked; a bad record or a
// peer past kMaxDeliveryConnections is dropped. Delivery itself is synchronous (disk writes and
// fsyncs): the master runs several copies of this process for parallelism.
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
    : base_(base), settings_(std::move(settings)) {
  // backlog 0: the master already called listen(). The listener owns the descriptor from here.
  listener_ = evconnlistener_new(base_, &DeliveryServer::on_accept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
                                 listen_fd.get());
  if (!listener_) log::fatal("cannot listen on the delivery socket");
  listen_fd.release();
}

DeliveryServer::~DeliveryServer() {
  if (listener_) evconnlistener_free(listener_);
  for (bufferevent* bev : connections_) bufferevent_free(bev);
}

void DeliveryServer::stop(std::function<void()> on_stopped) {
  stopping_ = true;
  on_stopped_ = std::move(on_stopped);
  if (listener_) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
  }
  // A reply still in the output buffer is written first: qmgr must hear every result.
  std::vector<bufferevent*> idle;
  for (bufferevent* bev : connections_) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) idle.push_back(bev);
  }
  for (bufferevent* bev : idle) close_connection(bev);
  check_stopped();
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
  self->connections_.insert(bev);
  bufferevent_setcb(bev, &DeliveryServer::on_read, &DeliveryServer::on_write,
                    &DeliveryServer::on_event, self);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void DeliveryServer::on_read(bufferevent* bev, void* arg) {
  auto* self = static_cast<DeliveryServer*>(arg);
  evbuffer* input = bufferevent_get_input(bev);
  if (self->stopping_) return;  // no new work; what is written still drains
  while (true) {
    std::optional<Result<AttrRecord>> record = take_attr_record(input);
    if (!record) return;  // wait for the rest of the frame
    if (!record->ok()) {
      log::warning("bad delivery request record: {}", record->error().describe());
      self->close_connection(bev);
      return;
    }
    Result<DeliveryRequest> request = parse_delivery_request(record->value(), self->settings_);
    if (!request) {
      log::warning("bad delivery request: {}", request.error().describe());
      self->close_connection(bev);
      return;
    }
    AttrRecord reply = deliver_request(*request, self->settings_);
    std::string frame = reply.encode();
    if (bufferevent_write(bev, frame.data(), frame.size()) != 0) {
      self->close_connection(bev);
      return;
    }
  }
}

void DeliveryServer::on_write(bufferevent* bev, void* arg) {
  auto* self = static_cast<DeliveryServer*>(arg);
  if (self->stopping_ && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    self->close_connection(bev);
  }
}

void DeliveryServer::on_event(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<DeliveryServer*>(arg);
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) self->close_connection(bev);
}

void DeliveryServer::close_connection(bufferevent* bev) {
  if (connections_.erase(bev)) bufferevent_free(bev);
  check_stopped();
}

}  // namespace postern
