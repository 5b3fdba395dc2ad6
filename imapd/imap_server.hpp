// The postern-imapd process around its sessions: what the sessions of the process share (TLS
// context, accounts, the failed-login throttle, the mailbox registry, the per user+address
// connection counts). Accepting, owning the sessions and the graceful stop ("* BYE Server
// shutting down" to every session, then leave the loop) are lib/net/session_server's. Trusts the
// master's socket and the admin's config.
#pragma once

#include <map>
#include <string>

#include "imapd/imapd_settings.hpp"
#include "imapd/mail_store.hpp"
#include "lib/auth/accounts.hpp"
#include "lib/auth/auth_throttle.hpp"
#include "lib/net/session_server.hpp"
#include "lib/net/tls_server.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::imapd {

class ImapSession;

class ImapServer {
 public:
  // tls may be null: STARTTLS is then not offered (and nobody can log in when
  // imapd_tls_auth_only is on).
  ImapServer(event_base* base, const ImapdSettings& settings, const AccountsDb& accounts,
             const TlsServerContext* tls);
  ImapServer(const ImapServer&) = delete;
  ImapServer& operator=(const ImapServer&) = delete;

  Status listen(UniqueFd listen_fd) { return sessions_.listen(std::move(listen_fd)); }
  void stop() { sessions_.stop(); }  // graceful, idempotent

  event_base* base() const { return base_; }
  const ImapdSettings& settings() const { return settings_; }
  const AccountsDb& accounts() const { return accounts_; }
  const TlsServerContext* tls() const { return tls_; }
  bool stopping() const { return sessions_.stopping(); }
  AuthThrottle& auth_throttle() { return auth_throttle_; }
  MailboxRegistry& registry() { return registry_; }
  // imapd_user_ip_connection_limit: counts one more login of user from address; false (and
  // nothing counted) when the limit is reached. release_login undoes a counted one.
  bool acquire_login(const std::string& user, const std::string& address);
  void release_login(const std::string& user, const std::string& address);
  void retire(ImapSession* session);
  size_t session_count() const { return sessions_.session_count(); }

 private:
  void accept(evutil_socket_t fd, const IpBytes& ip);

  event_base* base_;
  const ImapdSettings& settings_;
  const AccountsDb& accounts_;
  const TlsServerContext* tls_;
  AuthThrottle auth_throttle_;
  MailboxRegistry registry_;
  std::map<std::string, int> logins_;  // "user address" -> sessions logged in
  SessionServer sessions_;             // last: destroyed first, with the sessions using the above
};

}  // namespace postern::imapd
