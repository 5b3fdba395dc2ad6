// Accepting connections for postern-smtpd (see smtp_server.hpp): the connection's address
// decides the per-address count, and a connection over the limit gets "421 4.7.0" and is closed.
#include "smtpd/smtp_server.hpp"

#include <string>

#include "lib/base/log.hpp"
#include "smtpd/smtp_session.hpp"

namespace postern::smtpd {

SmtpServer::SmtpServer(event_base* base, const SmtpdSettings& settings, const AccountsDb& accounts,
                       const LocalRecipients& local_recipients, const TlsServerContext* tls,
                       const SenderOwnership* sender_ownership)
    : base_(base),
      settings_(settings),
      accounts_(accounts),
      local_recipients_(local_recipients),
      tls_(tls),
      sender_ownership_(sender_ownership),
      auth_throttle_(settings.auth_throttle),
      limits_(settings.connection_count_limit),
      qmgr_nudge_(base, settings.queue),
      commit_pool_(base),
      sessions_(base, [this](evutil_socket_t fd, const IpBytes& ip) { accept(fd, ip); }) {}

Status SmtpServer::listen(UniqueFd listen_fd) {
  if (!commit_pool_.ok()) return Error::system("commit pool wake-up pipe");
  return sessions_.listen(std::move(listen_fd));
}

void SmtpServer::accept(evutil_socket_t fd, const IpBytes& ip) {
  auto [allowed, slot] = limits_.acquire(ip);
  SmtpSession* session = sessions_.adopt(std::make_unique<SmtpSession>(*this, fd, ip,
                                                                       std::move(slot)));
  bool started;
  if (allowed) {
    started = session->start();
  } else {
    std::string address_text = ip_to_string(ip);
    log::warning("too many connections from unknown[{}]: limit {}", address_text,
                 settings_.connection_count_limit);
    started = session->start_refused("421 4.7.0 " + settings_.hostname +
                                     " Error: too many connections from " + address_text);
  }
  if (!started) {
    log::warning("cannot set up a session for {}", ip_to_string(ip));
    retire(session);
  }
}

void SmtpServer::retire(SmtpSession* session) {
  sessions_.retire(session);
}

}  // namespace postern::smtpd
