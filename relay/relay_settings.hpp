// postern-relay's settings, read once from main.cf at start (lib/config/main_cf.hpp): timeouts, TLS
// policy, HELO name, connection cache, per-destination concurrency, DNS resolver and where the
// credentials table lives. Trusts the admin's main.cf (already checked by MainConfig).
#pragma once

#include <string>

#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"
#include "lib/net/tls_client.hpp"

namespace postern::relay {

struct RelayTimeouts {
  int connect_seconds = 30;
  int helo_seconds = 300;  // greeting, EHLO/HELO, STARTTLS, AUTH, RSET, QUIT
  int mail_seconds = 300;
  int rcpt_seconds = 300;
  int data_init_seconds = 120;
  int data_xfer_seconds = 180;
  int data_done_seconds = 600;
};

struct RelaySettings {
  std::string active_dir;  // requests must point into $queue_directory/active
  std::string helo_name;
  TlsLevel tls_level = TlsLevel::kMay;
  bool tls_wrappermode = false;
  std::string tls_ca_file;
  RelayTimeouts timeouts;
  int connection_cache_seconds = 2;  // 0: no connection reuse
  int destination_concurrency = 20;
  size_t max_waiting_per_destination = 10000;
  std::string resolver_address;  // "" = /etc/resolv.conf
  bool want_ipv6 = true;
  bool want_ipv4 = true;
  bool password_maps_configured = false;
  std::string password_maps_db_dir;  // $data_directory/maps/smtp_sasl_password_maps
};

Result<RelaySettings> relay_settings_from_config(const MainConfig& config);

}  // namespace postern::relay
