// Accepting connections and owning sessions (lib/net/session_server.hpp).
#include "lib/net/session_server.hpp"

#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "lib/base/log.hpp"

namespace postern {

SessionServer::SessionServer(event_base* base, OnAccept on_accept)
    : base_(base), on_accept_(std::move(on_accept)) {
  reaper_.reset(event_new(base_, -1, 0, on_reap, this));
}

SessionServer::~SessionServer() {
  listener_.reset();
  sessions_.clear();
  retired_.clear();
}

Status SessionServer::listen(UniqueFd listen_fd) {
  if (!reaper_) return Error::system("event_new");
  evconnlistener* listener = evconnlistener_new(
      base_, on_accept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd.get());
  if (listener == nullptr) return Error::system("evconnlistener_new");
  listen_fd.release();  // the listener closes it
  evconnlistener_set_error_cb(listener, on_accept_error);
  listener_.reset(listener);
  return Status::success();
}

void SessionServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int,
                              void* arg) {
  auto* self = static_cast<SessionServer*>(arg);
  Result<IpBytes> ip = ip_of_sockaddr(address);
  if (!ip) {
    UniqueFd drop(fd);
    log::warning("connection from a non-IP address dropped");
    return;
  }
  evutil_make_socket_nonblocking(fd);
  // Replies are small and each one ends a round trip: without TCP_NODELAY, Nagle's algorithm
  // holds a reply back until the client ACKs the previous segment, and delayed ACKs turn that
  // into ~40 ms per command.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  self->on_accept_(fd, *ip);
}

void SessionServer::on_accept_error(evconnlistener*, void*) {
  // EMFILE and friends: the listener retries on the next readiness; say so once per error.
  log::warning("accept: {}", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

void SessionServer::retire(ServerSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  retired_.push_back(std::move(it->second));
  sessions_.erase(it);
  event_active(reaper_.get(), 0, 0);
}

void SessionServer::on_reap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<SessionServer*>(arg);
  self->retired_.clear();
  self->maybe_exit();
}

void SessionServer::stop() {
  if (stopping_) {
    maybe_exit();
    return;
  }
  stopping_ = true;
  listener_.reset();
  log::info("stopping: {} session(s) open", sessions_.size());
  std::vector<ServerSession*> open;
  open.reserve(sessions_.size());
  for (auto& [raw, owned] : sessions_) open.push_back(raw);
  for (ServerSession* session : open) session->server_stopping();
  maybe_exit();
}

void SessionServer::maybe_exit() {
  if (stopping_ && sessions_.empty() && retired_.empty()) event_base_loopexit(base_, nullptr);
}

}  // namespace postern
