// Reads postern-relay's settings from main.cf (see relay_settings.hpp).
#include "relay/relay_settings.hpp"

#include <algorithm>

#include "lib/store/lookup_table.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::relay {

Result<RelaySettings> relay_settings_from_config(const MainConfig& config) {
  RelaySettings settings;
  settings.active_dir = QueueLayout{config.get("queue_directory")}.active();
  settings.helo_name = config.get("smtp_helo_name");
  Result<TlsLevel> level = parse_tls_level(config.get("smtp_tls_security_level"));
  if (!level) return level.error();
  settings.tls_level = *level;
  settings.tls_wrappermode = config.get_bool("smtp_tls_wrappermode");
  settings.tls_ca_file = config.get("smtp_tls_CAfile");
  RelayTimeouts& t = settings.timeouts;
  t.connect_seconds = static_cast<int>(config.get_seconds("smtp_connect_timeout"));
  t.helo_seconds = static_cast<int>(config.get_seconds("smtp_helo_timeout"));
  t.mail_seconds = static_cast<int>(config.get_seconds("smtp_mail_timeout"));
  t.rcpt_seconds = static_cast<int>(config.get_seconds("smtp_rcpt_timeout"));
  t.data_init_seconds = static_cast<int>(config.get_seconds("smtp_data_init_timeout"));
  t.data_xfer_seconds = static_cast<int>(config.get_seconds("smtp_data_xfer_timeout"));
  t.data_done_seconds = static_cast<int>(config.get_seconds("smtp_data_done_timeout"));
  settings.connection_cache_seconds =
      static_cast<int>(config.get_seconds("smtp_connection_cache_time_limit"));
  settings.destination_concurrency =
      static_cast<int>(config.get_int("default_destination_concurrency_limit"));
  settings.resolver_address = config.get("smtp_dns_resolver_address");
  std::vector<std::string> protocols = config.get_list("inet_protocols");
  auto has = [&](const char* name) {
    return std::find(protocols.begin(), protocols.end(), name) != protocols.end();
  };
  if (!has("all")) {
    settings.want_ipv4 = has("ipv4");
    settings.want_ipv6 = has("ipv6");
  }
  settings.password_maps_configured = !config.get_list("smtp_sasl_password_maps").empty();
  settings.password_maps_db_dir =
      lookup_table_db_dir(config.get("data_directory"), "smtp_sasl_password_maps");
  return settings;
}

}  // namespace postern::relay
