// Reads smtpd's parameters from main.cf once, at start (postern-smtpd). Trusts the admin's
// config, which MainConfig has already checked against each parameter's type and bounds.
#include "smtpd/smtpd_settings.hpp"

#include <cctype>

#include "lib/base/ascii.hpp"
#include "lib/net/tls_server.hpp"

namespace postern::smtpd {
Result<SmtpdSettings> load_smtpd_settings(const MainConfig& config,
                                          std::string_view milter_list) {
  SmtpdSettings s;
  s.hostname = config.get("myhostname");
  s.banner = config.get("smtpd_banner");
  s.message_size_limit = static_cast<uint64_t>(config.get_size("message_size_limit"));
  s.recipient_limit = static_cast<size_t>(config.get_int("smtpd_recipient_limit"));
  s.line_length_limit = static_cast<size_t>(config.get_int("line_length_limit"));
  s.soft_error_limit = static_cast<int>(config.get_int("smtpd_soft_error_limit"));
  s.hard_error_limit = static_cast<int>(config.get_int("smtpd_hard_error_limit"));
  s.error_sleep_ms = static_cast<int>(config.get_seconds("smtpd_error_sleep_time") * 1000);
  s.timeout_seconds = static_cast<int>(config.get_seconds("smtpd_timeout"));
  s.connection_count_limit =
      static_cast<int>(config.get_int("smtpd_client_connection_count_limit"));
  s.forbid_bare_newline = config.get_bool("smtpd_forbid_bare_newline");
  std::string level = ascii_lowercase(config.get("smtpd_tls_security_level"));
  s.tls_level = level == "none"      ? TlsLevel::kNone
                : level == "encrypt" ? TlsLevel::kEncrypt
                                     : TlsLevel::kMay;
  s.tls_cert_file = config.get("smtpd_tls_cert_file");
  s.tls_key_file = config.get("smtpd_tls_key_file");
  s.tls_cipher_list = config.get(kTlsServerCiphersParameter);
  if (Status ciphers = check_tls_server_ciphers(s.tls_cipher_list); !ciphers) {
    return ciphers.error();
  }
  s.recipient_delimiter = config.get("recipient_delimiter");
  for (const std::string& domain : config.get_list("relay_domains")) {
    s.relay_domains.push_back(ascii_lowercase(domain));
  }
  Result<NetworkList> networks = NetworkList::parse(config.get_list("mynetworks"));
  if (!networks) return networks.error();
  s.mynetworks = std::move(networks).value();
  s.queue.root = config.get("queue_directory");
  s.data_directory = config.get("data_directory");
  s.accounts_db = s.data_directory + "/accounts";
  s.tls_auth_only = config.get_bool("smtpd_tls_auth_only");
  s.tls_wrappermode = config.get_bool("smtpd_tls_wrappermode");
  s.sasl_local_domain = ascii_lowercase(config.get("smtpd_sasl_local_domain"));
  s.header_size_limit = static_cast<size_t>(config.get_size("header_size_limit"));
  s.sender_login_maps = config.get_list("smtpd_sender_login_maps");
  s.auth_throttle = auth_throttle_limits(config);
  Result<milter::MilterSettings> milters = milter::load_milter_settings(config, milter_list);
  if (!milters) return milters.error();
  s.milters = std::move(milters).value();
  return s;
}

}  // namespace postern::smtpd
