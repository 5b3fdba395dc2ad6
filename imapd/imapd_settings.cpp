// Reads imapd's parameters from main.cf once, at start (postern-imapd). Trusts the admin's
// config, which MainConfig has already checked against each parameter's type and bounds.
#include "imapd/imapd_settings.hpp"

#include "lib/base/ascii.hpp"
#include "lib/net/tls_server.hpp"

namespace postern::imapd {

Result<ImapdSettings> load_imapd_settings(const MainConfig& config) {
  ImapdSettings s;
  s.hostname = config.get("myhostname");
  s.tls_wrappermode = config.get_bool("imapd_tls_wrappermode");
  s.tls_auth_only = config.get_bool("imapd_tls_auth_only");
  s.loopback_plaintext_auth = config.get_bool("imapd_loopback_plaintext_auth");
  s.login_timeout_seconds = static_cast<int>(config.get_seconds("imapd_login_timeout"));
  s.timeout_seconds = static_cast<int>(config.get_seconds("imapd_timeout"));
  s.max_line_bytes = static_cast<size_t>(config.get_size("imapd_max_line_length"));
  s.message_size_limit = static_cast<uint64_t>(config.get_size("message_size_limit"));
  s.user_ip_connection_limit = static_cast<int>(config.get_int("imapd_user_ip_connection_limit"));
  s.tls_cert_file = config.get("smtpd_tls_cert_file");
  s.tls_key_file = config.get("smtpd_tls_key_file");
  s.tls_cipher_list = config.get(kTlsServerCiphersParameter);
  if (Status ciphers = check_tls_server_ciphers(s.tls_cipher_list); !ciphers) {
    return ciphers.error();
  }
  s.mail_base = config.get("virtual_mailbox_base");
  s.accounts_db = config.get("data_directory") + "/accounts";
  s.sasl_local_domain = ascii_lowercase(config.get("smtpd_sasl_local_domain"));
  s.auth_throttle = auth_throttle_limits(config);
  return s;
}

}  // namespace postern::imapd
