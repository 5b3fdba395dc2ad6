// What a new connection becomes in postern-imapd (see imap_server.hpp), and the per user+address
// login counts.
#include "imapd/imap_server.hpp"

#include <memory>

#include "imapd/imap_session.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {

ImapServer::ImapServer(event_base* base, const ImapdSettings& settings, const AccountsDb& accounts,
                       const TlsServerContext* tls)
    : base_(base),
      settings_(settings),
      accounts_(accounts),
      tls_(tls),
      auth_throttle_(settings.auth_throttle),
      registry_(base),
      sessions_(base, [this](evutil_socket_t fd, const IpBytes& ip) { accept(fd, ip); }) {}

void ImapServer::accept(evutil_socket_t fd, const IpBytes& ip) {
  ImapSession* session = sessions_.adopt(std::make_unique<ImapSession>(*this, fd, ip));
  if (!session->start()) {
    log::warning("cannot set up a session for {}", ip_to_string(ip));
    retire(session);
  }
}

void ImapServer::retire(ImapSession* session) {
  sessions_.retire(session);
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

}  // namespace postern::imapd
