// The postern-smtpd process around its sessions: what the sessions of the process share
// (settings, TLS context, accounts, the local recipient table, the failed-login throttle, the
// qmgr nudge, the commit pool), the per-address connection limit applied to each new connection,
// and the graceful stop: idle sessions hear "421 4.3.2", sessions in DATA/BDAT finish first.
// Accepting and owning the sessions is lib/net/session_server's. Trusts the master's socket and
// the admin's config.
#pragma once

#include "lib/auth/accounts.hpp"
#include "lib/auth/auth_throttle.hpp"
#include "lib/net/session_server.hpp"
#include "lib/net/tls_server.hpp"
#include "lib/base/unique_fd.hpp"
#include "smtpd/commit_pool.hpp"
#include "smtpd/connection_limits.hpp"
#include "smtpd/local_recipients.hpp"
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
             const LocalRecipients& local_recipients, const TlsServerContext* tls,
             const SenderOwnership* sender_ownership = nullptr);
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Starts accepting on listen_fd (taken over). Fatal-worthy errors come back as a Status.
  Status listen(UniqueFd listen_fd);
  // Graceful stop (idempotent).
  void stop() { sessions_.stop(); }

  // For sessions.
  event_base* base() const { return base_; }
  const SmtpdSettings& settings() const { return settings_; }
  const AccountsDb& accounts() const { return accounts_; }
  const LocalRecipients& local_recipients() const { return local_recipients_; }
  const TlsServerContext* tls() const { return tls_; }
  bool stopping() const { return sessions_.stopping(); }
  QmgrNudge& qmgr_nudge() { return qmgr_nudge_; }
  CommitPool& commit_pool() { return commit_pool_; }
  const SenderOwnership* sender_ownership() const { return sender_ownership_; }
  // Failed-login counts of every session of this process (submission).
  AuthThrottle& auth_throttle() { return auth_throttle_; }
  // A session that is done: freed soon, outside the callback that is running now.
  void retire(SmtpSession* session);

 private:
  void accept(evutil_socket_t fd, const IpBytes& ip);

  event_base* base_;
  const SmtpdSettings& settings_;
  const AccountsDb& accounts_;
  const LocalRecipients& local_recipients_;
  const TlsServerContext* tls_;
  const SenderOwnership* sender_ownership_;
  AuthThrottle auth_throttle_;
  ConnectionLimits limits_;
  QmgrNudge qmgr_nudge_;
  CommitPool commit_pool_;
  SessionServer sessions_;  // last: destroyed first, with the sessions that use the above
};

}  // namespace postern::smtpd
