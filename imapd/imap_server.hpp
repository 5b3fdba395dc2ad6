// The postern-imapd process around its sessions: accepts connections on the listening socket
// (fd 3) with an evconnlistener, owns every session and frees finished ones outside their own
// callbacks, holds what the sessions of the process share (TLS context, accounts, the failed-login
// throttle, the mailbox registry, the per user+address connection counts) and runs the graceful
// stop ("* BYE Server shutting down" to every session, then leave the loop). Trusts the master's
// socket and the admin's config.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "imapd/imapd_settings.hpp"
#include "imapd/mail_store.hpp"
#include "lib/accounts.hpp"
#include "lib/auth_throttle.hpp"
#include "lib/event_handles.hpp"
#include "lib/tls_server.hpp"
#include "lib/unique_fd.hpp"

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
  ~ImapServer();

  Status listen(UniqueFd listen_fd);
  void stop();  // graceful, idempotent

  event_base* base() const { return base_; }
  const ImapdSettings& settings() const { return settings_; }
  const AccountsDb& accounts() const { return accounts_; }
  const TlsServerContext* tls() const { return tls_; }
  bool stopping() const { return stopping_; }
  AuthThrottle& auth_throttle() { return auth_throttle_; }
  MailboxRegistry& registry() { return registry_; }
  // imapd_user_ip_connection_limit: counts one more login of user from address; false (and
  // nothing counted) when the limit is reached. release_login undoes a counted one.
  bool acquire_login(const std::string& user, const std::string& address);
  void release_login(const std::string& user, const std::string& address);
  void retire(ImapSession* session);
  size_t session_count() const { return sessions_.size(); }

 private:
  static void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address,
                        int address_length, void* arg);
  static void on_accept_error(evconnlistener* listener, void* arg);
  static void on_reap(evutil_socket_t fd, short what, void* arg);
  void maybe_exit();

  event_base* base_;
  const ImapdSettings& settings_;
  const AccountsDb& accounts_;
  const TlsServerContext* tls_;
  AuthThrottle auth_throttle_;
  MailboxRegistry registry_;
  ListenerHandle listener_;
  SingleEventHandle reaper_;
  std::unordered_map<ImapSession*, std::unique_ptr<ImapSession>> sessions_;
  std::vector<std::unique_ptr<ImapSession>> retired_;
  std::map<std::string, int> logins_;  // "user address" -> sessions logged in
  bool stopping_ = false;
};

}  // namespace postern::imapd
