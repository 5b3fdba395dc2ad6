// The postern-smtpd process around its sessions: accepts connections on the listening socket
// (fd 3) with an evconnlistener, applies the per-address connection limit, owns every session
// and frees finished ones outside their own callbacks, and runs the graceful stop: stop
// accepting, tell idle sessions "421 4.3.2", let sessions in DATA/BDAT finish, then leave the
// event loop when none is left. Trusts the master's socket and the admin's config.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "lib/accounts.hpp"
#include "lib/auth_throttle.hpp"
#include "lib/event_handles.hpp"
#include "lib/tls_server.hpp"
#include "lib/unique_fd.hpp"
#include "smtpd/commit_pool.hpp"
#include "smtpd/connection_limits.hpp"
#include "smtpd/qmgr_nudge.hpp"
#include "smtpd/sender_ownership.hpp"
#include "smtpd/smtpd_settings.hpp"

namespace postern::smtpd {

class SmtpSession;

class SmtpServer {
 public:
  // tls may be null: STARTTLS is then not offered. sender_ownership: submission's sender rules
  // (postern-submission); null for postern-smtpd.
  SmtpServer(event_base* base, const SmtpdSettings& settings, const AccountsDb& accounts,
             const TlsServerContext* tls, const SenderOwnership* sender_ownership = nullptr);
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;
  ~SmtpServer();

  // Starts accepting on listen_fd (taken over). Fatal-worthy errors come back as a Status.
  Status listen(UniqueFd listen_fd);
  // Graceful stop (idempotent).
  void stop();

  // For sessions.
  event_base* base() const { return base_; }
  const SmtpdSettings& settings() const { return settings_; }
  const AccountsDb& accounts() const { return accounts_; }
  const TlsServerContext* tls() const { return tls_; }
  bool stopping() const { return stopping_; }
  QmgrNudge& qmgr_nudge() { return qmgr_nudge_; }
  CommitPool& commit_pool() { return commit_pool_; }
  const SenderOwnership* sender_ownership() const { return sender_ownership_; }
  // Failed-login counts of every session of this process (submission).
  AuthThrottle& auth_throttle() { return auth_throttle_; }
  // A session that is done: freed soon, outside the callback that is running now.
  void retire(SmtpSession* session);

 private:
  static void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address,
                        int address_length, void* arg);
  static void on_accept_error(evconnlistener* listener, void* arg);
  static void on_reap(evutil_socket_t fd, short what, void* arg);
  void maybe_exit();

  event_base* base_;
  const SmtpdSettings& settings_;
  const AccountsDb& accounts_;
  const TlsServerContext* tls_;
  const SenderOwnership* sender_ownership_;
  AuthThrottle auth_throttle_;
  ConnectionLimits limits_;
  QmgrNudge qmgr_nudge_;
  CommitPool commit_pool_;
  ListenerHandle listener_;
  SingleEventHandle reaper_;
  std::unordered_map<SmtpSession*, std::unique_ptr<SmtpSession>> sessions_;
  std::vector<std::unique_ptr<SmtpSession>> retired_;
  bool stopping_ = false;
};

}  // namespace postern::smtpd
