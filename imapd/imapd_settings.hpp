// imapd's view of main.cf: every limit, timeout and path its sessions use, read once at start
// into plain fields (postern-imapd). Trusts the admin's config, already checked against the
// parameter table (bounds included) by MainConfig.
#pragma once

#include <cstdint>
#include <string>

#include "lib/auth/auth_throttle.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

struct ImapdSettings {
  std::string hostname;                 // myhostname
  bool tls_wrappermode = false;         // imapd_tls_wrappermode: TLS from the first byte (993)
  bool tls_auth_only = true;            // imapd_tls_auth_only: LOGINDISABLED until TLS
  bool loopback_plaintext_auth = false;  // imapd_loopback_plaintext_auth
  int login_timeout_seconds = 60;       // imapd_login_timeout: before login
  int timeout_seconds = 1800;           // imapd_timeout: after login, IDLE included
  size_t max_line_bytes = 65536;        // imapd_max_line_length: lines and literals but APPEND's
  uint64_t message_size_limit = 10240000;  // APPEND's literal (0: no limit of its own)
  int user_ip_connection_limit = 10;    // imapd_user_ip_connection_limit, per process
  std::string tls_cert_file;            // smtpd_tls_cert_file (the same certificate)
  std::string tls_key_file;
  std::string tls_cipher_list;          // smtpd_tls_cipherlist (the same TLS 1.2 ciphers)
  std::string mail_base;                // virtual_mailbox_base
  std::string accounts_db;              // $data_directory/accounts
  std::string sasl_local_domain;        // smtpd_sasl_local_domain
  AuthThrottleLimits auth_throttle;     // auth_throttle_*
};

Result<ImapdSettings> load_imapd_settings(const MainConfig& config);

}  // namespace postern::imapd
