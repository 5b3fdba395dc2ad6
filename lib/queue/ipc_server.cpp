// The server side of a request/reply IPC socket (see ipc_server.hpp): accept up to the owner's
// connection limit, read one length-prefixed record at a time per connection, hand it to the
// handler, write the reply frame it gives back. Runs in postern-delivery and postern-relay.
// Trusts no record it has not decoded; a bad record or a peer past the limit is dropped.
#include "lib/queue/ipc_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <utility>
#include <vector>

#include "lib/base/log.hpp"

namespace postern {

IpcServer::IpcServer(event_base* base, UniqueFd listen_fd, size_t max_connections,
                     std::string word, Handler handler)
    : base_(base),
      max_connections_(max_connections),
      word_(std::move(word)),
      handler_(std::move(handler)) {
  // backlog 0: the master already called listen(). The listener owns the descriptor from here.
  listener_ = evconnlistener_new(base_, &IpcServer::on_accept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd.get());
  if (!listener_) log::fatal("cannot listen on the {} socket", word_);
  listen_fd.release();
}

IpcServer::~IpcServer() {
  if (listener_) evconnlistener_free(listener_);
  for (auto& [id, conn] : connections_) bufferevent_free(conn->bev);
}

void IpcServer::stop(std::function<void()> on_stopped) {
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

bool IpcServer::idle(const Connection* conn) const {
  return !conn->busy && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0;
}

void IpcServer::check_stopped() {
  if (stopping_ && connections_.empty() && on_stopped_) std::exchange(on_stopped_, nullptr)();
}

void IpcServer::on_accept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  auto* self = static_cast<IpcServer*>(arg);
  if (self->connections_.size() >= self->max_connections_) {
    log::warning("too many {} connections ({}), dropping one", self->word_,
                 self->max_connections_);
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
  bufferevent_setcb(bev, &IpcServer::on_read, &IpcServer::on_write, &IpcServer::on_event, raw);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void IpcServer::on_read(bufferevent*, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  conn->server->serve(conn);
}

void IpcServer::serve(Connection* conn) {
  if (conn->busy || stopping_) return;  // one request at a time; no new work when stopping
  std::optional<Result<AttrRecord>> record = take_attr_record(bufferevent_get_input(conn->bev));
  if (!record) return;  // wait for the rest of the frame
  if (!record->ok()) {
    log::warning("bad {} request record: {}", word_, record->error().describe());
    close_connection(conn);
    return;
  }
  conn->busy = true;
  const uint64_t id = conn->id;
  Status accepted = handler_(std::move(*record).value(), [this, id](std::string frame) {
    reply_done(id, std::move(frame));
  });
  if (!accepted.ok()) {
    log::warning("bad {} request: {}", word_, accepted.error().describe());
    auto it = connections_.find(id);
    if (it != connections_.end()) close_connection(it->second.get());
  }
}

void IpcServer::reply_done(uint64_t id, std::string frame) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;  // the peer hung up; it learns the outcome next time
  Connection* conn = it->second.get();
  conn->busy = false;
  if (bufferevent_write(conn->bev, frame.data(), frame.size()) != 0) {
    close_connection(conn);
    return;
  }
  serve(conn);  // a next request may already be waiting
}

void IpcServer::on_write(bufferevent*, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  IpcServer* self = conn->server;
  if (self->stopping_ && self->idle(conn)) self->close_connection(conn);
}

void IpcServer::on_event(bufferevent*, short what, void* arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    auto* conn = static_cast<Connection*>(arg);
    conn->server->close_connection(conn);
  }
}

void IpcServer::close_connection(Connection* conn) {
  auto it = connections_.find(conn->id);
  if (it == connections_.end()) return;
  // A request in progress goes on with its owner; its reply, when it comes, is dropped.
  bufferevent_free(conn->bev);
  connections_.erase(it);
  check_stopped();
}

}  // namespace postern
