// Accepting connections and owning sessions for postern-imapd (see imap_server.hpp). Finished
// sessions are parked and freed from a separate event, never inside their own callback.
#include "imapd/imap_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "imapd/imap_session.hpp"
#include "lib/log.hpp"
#include "lib/network_list.hpp"

namespace postern::imapd {

ImapServer::ImapServer(event_base* base, const ImapdSettings& settings, const AccountsDb& accounts,
                       const TlsServerContext* tls)
    : base_(base),
      settings_(settings),
      accounts_(accounts),
      tls_(tls),
      auth_throttle_(settings.auth_throttle),
      registry_(base) {
  reaper_.reset(event_new(base_, -1, 0, on_reap, this));
}

ImapServer::~ImapServer() {
  listener_.reset();
  sessions_.clear();
  retired_.clear();
}

Status ImapServer::listen(UniqueFd listen_fd) {
  if (!reaper_) return Error::system("event_new");
  evconnlistener* listener = evconnlistener_new(
      base_, on_accept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd.get());
  if (listener == nullptr) return Error::system("evconnlistener_new");
  listen_fd.release();  // the listener closes it
  evconnlistener_set_error_cb(listener, on_accept_error);
  listener_.reset(listener);
  return Status::success();
}

void ImapServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int, void* arg) {
  auto* self = static_cast<ImapServer*>(arg);
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
  auto session = std::make_unique<ImapSession>(*self, fd, *ip);
  ImapSession* raw = session.get();
  self->sessions_.emplace(raw, std::move(session));
  if (!raw->start()) {
    log::warning("cannot set up a session for {}", ip_to_string(*ip));
    self->retire(raw);
  }
}

void ImapServer::on_accept_error(evconnlistener*, void*) {
  log::warning("accept: {}", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

bool ImapServer::acquire_login(const std::string& user, const std::string& address) {
  int& count = logins_[user + " " + address];
  if (count >= settings_.user_ip_connection_limit) {
    if (count == 0) logins_.erase(user + " " + address);
    return false;
  }
  ++count;
  return true;
}

void ImapServer::release_login(const std::string& user, const std::string& address) {
  auto it = logins_.find(user + " " + address);
  if (it == logins_.end()) return;
  if (--it->second <= 0) logins_.erase(it);
}

void ImapServer::retire(ImapSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  retired_.push_back(std::move(it->second));
  sessions_.erase(it);
  event_active(reaper_.get(), 0, 0);
}

void ImapServer::on_reap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ImapServer*>(arg);
  self->retired_.clear();
  self->maybe_exit();
}

void ImapServer::stop() {
  if (stopping_) {
    maybe_exit();
    return;
  }
  stopping_ = true;
  listener_.reset();
  log::info("stopping: {} session(s) open", sessions_.size());
  std::vector<ImapSession*> open;
  open.reserve(sessions_.size());
  for (auto& [raw, owned] : sessions_) open.push_back(raw);
  for (ImapSession* session : open) session->server_stopping();
  maybe_exit();
}

void ImapServer::maybe_exit() {
  if (stopping_ && sessions_.empty() && retired_.empty()) event_base_loopexit(base_, nullptr);
}

}  // namespace postern::imapd
