// postern-submission: the message submission service (RFC 6409) on 587 (STARTTLS, then AUTH)
// and 465 (smtpd_tls_wrappermode = yes: TLS from the first byte, RFC 8314). master.cf's command
// "submission" starts it, with the listening socket on fd 3 and the master watch on fd 4
// (lib/net/daemon.hpp); it logs as postern/submission. It runs smtpd's session engine with
// SmtpdSettings::submission set, and this folder's sender rules (sender_policy.*). Reads top to
// bottom: config, TLS key, accounts database, local recipient table and sender login map (opened
// while still root), privilege drop, event loop. Trusts the master and the admin's config; every
// client byte is hostile (see smtpd/smtp_session.hpp).
#include <optional>

#include "lib/net/daemon.hpp"
#include "lib/base/log.hpp"
#include "lib/store/lookup_table.hpp"
#include "lib/net/session_daemon.hpp"
#include "lib/net/tls_server.hpp"
#include "smtpd/local_recipients.hpp"
#include "smtpd/smtp_server.hpp"
#include "smtpd/smtpd_settings.hpp"
#include "submission/sender_policy.hpp"

int main(int argc, char** argv) {
  using namespace postern;
  DaemonContext ctx = daemon_init(argc, argv, "submission");

  // Its milters: submission_milters, unless master.cf says `-o smtpd_milters=...` for this
  // service, as Postfix admins write it.
  const bool milters_overridden = ctx.config.set_by_override("smtpd_milters");
  Result<smtpd::SmtpdSettings> loaded = smtpd::load_smtpd_settings(
      ctx.config, milters_overridden ? "smtpd_milters" : "submission_milters");
  if (!loaded) log::fatal("{}", loaded.error().describe());
  smtpd::SmtpdSettings settings = std::move(loaded).value();
  settings.submission = true;  // AUTH is what this service is for: smtpd_sasl_auth_enable implied
  if (!ctx.listen_fd) log::fatal("no listening socket: start me from postern-master or with -L");

  // Without TLS a password would cross the network in clear: submission needs the certificate
  // unless the admin explicitly allowed AUTH without TLS (smtpd_tls_auth_only = no, not 465).
  std::optional<TlsServerContext> tls;
  const bool tls_required = settings.tls_wrappermode || settings.tls_auth_only;
  if (settings.tls_level == smtpd::TlsLevel::kNone && tls_required) {
    log::fatal(
        "submission with smtpd_tls_security_level = none: nobody could log in "
        "(smtpd_tls_auth_only = yes or smtpd_tls_wrappermode = yes)");
  }
  if (settings.tls_level != smtpd::TlsLevel::kNone) {
    if (settings.tls_cert_file.empty()) {
      if (tls_required) log::fatal("submission needs smtpd_tls_cert_file and smtpd_tls_key_file");
      log::warning("no smtpd_tls_cert_file: passwords cross the network in clear");
    } else {
      Result<TlsServerContext> created = TlsServerContext::create(
          settings.tls_cert_file, settings.tls_key_file, settings.tls_cipher_list);
      if (!created) log::fatal("TLS: {}", created.error().describe());
      tls.emplace(std::move(created).value());
    }
  }

  AccountsDb accounts = open_accounts_or_exit(settings.accounts_db);
  smtpd::LocalRecipients local_recipients = smtpd::open_local_recipients_or_exit(ctx.config);
  std::optional<LookupTable> login_maps;
  if (!settings.sender_login_maps.empty()) {
    std::string db_dir = lookup_table_db_dir(settings.data_directory, "smtpd_sender_login_maps");
    Result<LookupTable> opened = LookupTable::open(db_dir);
    if (!opened) {
      log::fatal("cannot open smtpd_sender_login_maps ({}): {}", db_dir, opened.error().describe());
    }
    login_maps.emplace(std::move(opened).value());
  }
  submission::SenderPolicy policy(accounts, login_maps ? &*login_maps : nullptr,
                                  settings.recipient_delimiter, settings.sasl_local_domain);

  return run_session_daemon<smtpd::SmtpServer>(ctx, settings, accounts, local_recipients,
                                               tls ? &*tls : nullptr, &policy);
}
