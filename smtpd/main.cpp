// postern-smtpd: the port-25 SMTP server (MX). Started by postern-master with the listening
// socket on fd 3 and the master-watch socket on fd 4 (lib/net/daemon.hpp). Reads top to bottom:
// config, TLS key, accounts database and local recipient table (opened while still root),
// privilege drop, event loop.
// Trusts the master and the admin's config; every client byte is hostile (see smtp_session.hpp).
#include <memory>
#include <optional>

#include "lib/net/daemon.hpp"
#include "lib/base/log.hpp"
#include "lib/net/session_daemon.hpp"
#include "lib/net/tls_server.hpp"
#include "smtpd/local_recipients.hpp"
#include "smtpd/smtp_server.hpp"
#include "smtpd/smtpd_settings.hpp"

int main(int argc, char** argv) {
  using namespace postern;
  DaemonContext ctx = daemon_init(argc, argv, "smtpd");

  Result<smtpd::SmtpdSettings> settings = smtpd::load_smtpd_settings(ctx.config);
  if (!settings) log::fatal("{}", settings.error().describe());
  if (!ctx.listen_fd) log::fatal("no listening socket: start me from postern-master or with -L");

  // The key is readable by root only: load it before the privilege drop.
  std::optional<TlsServerContext> tls;
  if (settings->tls_level != smtpd::TlsLevel::kNone && !settings->tls_cert_file.empty()) {
    Result<TlsServerContext> created = TlsServerContext::create(
        settings->tls_cert_file, settings->tls_key_file, settings->tls_cipher_list);
    if (created) {
      tls.emplace(std::move(created).value());
    } else if (settings->tls_level == smtpd::TlsLevel::kEncrypt) {
      log::fatal("smtpd_tls_security_level = encrypt, but {}", created.error().describe());
    } else {
      log::warning("STARTTLS disabled: {}", created.error().describe());
    }
  } else if (settings->tls_level == smtpd::TlsLevel::kEncrypt) {
    log::fatal("smtpd_tls_security_level = encrypt needs smtpd_tls_cert_file and key_file");
  }

  AccountsDb accounts = open_accounts_or_exit(settings->accounts_db);
  smtpd::LocalRecipients local_recipients = smtpd::open_local_recipients_or_exit(ctx.config);

  return run_session_daemon<smtpd::SmtpServer>(ctx, *settings, accounts, local_recipients,
                                               tls ? &*tls : nullptr);
}
