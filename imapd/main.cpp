// postern-imapd: the IMAP server (143 with STARTTLS, 993 with imapd_tls_wrappermode = yes) over
// the users' Maildirs. Started by postern-master with the listening socket on fd 3 and the master
// watch on fd 4 (lib/net/daemon.hpp). Reads top to bottom: config, RLIMIT_NOFILE raised (one process
// serves thousands of connections), TLS key and accounts database (opened while still root),
// privilege drop, event loop. Trusts the master and the admin's config; every client byte is
// hostile (see imap_session.hpp).
#include <sys/resource.h>

#include <optional>

#include "imapd/imap_server.hpp"
#include "imapd/imapd_settings.hpp"
#include "lib/net/daemon.hpp"
#include "lib/base/log.hpp"
#include "lib/net/session_daemon.hpp"
#include "lib/net/tls_server.hpp"

int main(int argc, char** argv) {
  using namespace postern;
  DaemonContext ctx = daemon_init(argc, argv, "imapd");

  Result<imapd::ImapdSettings> settings = imapd::load_imapd_settings(ctx.config);
  if (!settings) log::fatal("{}", settings.error().describe());
  if (!ctx.listen_fd) log::fatal("no listening socket: start me from postern-master or with -L");

  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) log::warning("cannot raise RLIMIT_NOFILE");
  }

  std::optional<TlsServerContext> tls;
  if (!settings->tls_cert_file.empty()) {
    Result<TlsServerContext> created = TlsServerContext::create(
        settings->tls_cert_file, settings->tls_key_file, settings->tls_cipher_list);
    if (!created) log::fatal("TLS: {}", created.error().describe());
    tls.emplace(std::move(created).value());
  } else if (settings->tls_wrappermode) {
    log::fatal("imapd_tls_wrappermode = yes needs smtpd_tls_cert_file and smtpd_tls_key_file");
  } else if (settings->tls_auth_only) {
    log::warning("no smtpd_tls_cert_file: with imapd_tls_auth_only = yes nobody can log in");
  }

  AccountsDb accounts = open_accounts_or_exit(settings->accounts_db);

  return run_session_daemon<imapd::ImapServer>(ctx, *settings, accounts, tls ? &*tls : nullptr);
}
