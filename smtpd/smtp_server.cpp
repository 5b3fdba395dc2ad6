// Accepting connections and owning sessions for postern-smtpd (see smtp_server.hpp). The
// listener hands over a connected socket; its address decides the per-address count. Finished
// sessions are parked and freed from a separate event, never inside their own callback.
#include "smtpd/smtp_server.hpp"

#include "lib/log.hpp"
#include "smtpd/smtp_session.hpp"

namespace postern::smtpd {

SmtpServer::SmtpServer(event_base* base, const SmtpdSettings& settings, const AccountsDb& accounts,
                       const TlsServerContext* tls, const SenderOwnership* sender_ownership)
    : base_(base),
      settings_(settings),
      accounts_(accounts),
      tls_(tls),
      sender_ownership_(sender_ownership),
      auth_throttle_(settings.auth_throttle),
      limits_(settings.connection_count_limit),
      qmgr_nudge_(base, settings.queue),
      commit_pool_(base) {
  reaper_.reset(event_new(base_, -1, 0, on_reap, this));
}

SmtpServer::~SmtpServer() {
  listener_.reset();
  sessions_.clear();
  retired_.clear();
}

Status SmtpServer::listen(UniqueFd listen_fd) {
  if (!reaper_) return Error::system("event_new");
  if (!commit_pool_.ok()) return Error::system("commit pool wake-up pipe");
  evconnlistener* listener = evconnlistener_new(
      base_, on_accept, this, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd.get());
  if (listener == nullptr) return Error::system("evconnlistener_new");
  listen_fd.release();  // the listener closes it
  evconnlistener_set_error_cb(listener, on_accept_error);
  listener_.reset(listener);
  return Status::success();
}

void SmtpServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* address, int, void* arg) {
  auto* self = static_cast<SmtpServer*>(arg);
  Result<IpBytes> ip = ip_of_sockaddr(address);
  if (!ip) {
    UniqueFd drop(fd);
    log::warning("connection from a non-IP address dropped");
    return;
  }
  evutil_make_socket_nonblocking(fd);
  auto [allowed, slot] = self->limits_.acquire(*ip);
  auto session = std::make_unique<SmtpSession>(*self, fd, *ip, std::move(slot));
  SmtpSession* raw = session.get();
  self->sessions_.emplace(raw, std::move(session));
  bool started;
  if (allowed) {
    started = raw->start();
  } else {
    std::string address_text = ip_to_string(*ip);
    log::warning("too many connections from unknown[{}]: limit {}", address_text,
                 self->settings_.connection_count_limit);
    started = raw->start_refused("421 4.7.0 " + self->settings_.hostname +
                                 " Error: too many connections from " + address_text);
  }
  if (!started) {
    log::warning("cannot set up a session for {}", ip_to_string(*ip));
    self->retire(raw);
  }
}

void SmtpServer::on_accept_error(evconnlistener*, void*) {
  // EMFILE and friends: the listener retries on the next readiness; say so once per error.
  log::warning("accept: {}", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

void SmtpServer::retire(SmtpSession* session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  retired_.push_back(std::move(it->second));
  sessions_.erase(it);
  event_active(reaper_.get(), 0, 0);
}

void SmtpServer::on_reap(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<SmtpServer*>(arg);
  self->retired_.clear();
  self->maybe_exit();
}

void SmtpServer::stop() {
  if (stopping_) {
    maybe_exit();
    return;
  }
  stopping_ = true;
  listener_.reset();  // stop accepting; new clients wait in the master's socket for a successor
  log::info("stopping: {} session(s) open", sessions_.size());
  std::vector<SmtpSession*> open;
  open.reserve(sessions_.size());
  for (auto& [raw, owned] : sessions_) open.push_back(raw);
  for (SmtpSession* session : open) session->server_stopping();
  maybe_exit();
}

void SmtpServer::maybe_exit() {
  if (stopping_ && sessions_.empty() && retired_.empty()) event_base_loopexit(base_, nullptr);
}

}  // namespace postern::smtpd
