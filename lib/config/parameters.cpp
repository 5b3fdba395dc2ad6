// The table of every main.cf parameter: name, type, default and bounds, declared once. Every
// process reads it through MainConfig; `postern config` prints it. Each entry has a matching
// entry in man/man5/postern.cf.5 (tests/lib/config/parameters_test.cpp checks that they agree).
// Read-only data: no input, nothing to trust. Times are in seconds, sizes in bytes.
#include "lib/config/parameters.hpp"

#include <algorithm>
#include <array>

namespace postern {
namespace {

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kMaxSize = int64_t{1} << 40;  // 1 TiB: far beyond any sane message

// smtpd_tls_cipherlist: the "intermediate" TLS 1.2 suites (ECDHE or DHE key exchange with AES-GCM
// or CHACHA20-POLY1305; no CBC, no static-RSA key exchange), in that profile's order.
constexpr std::string_view kTlsServerCipherListDefault =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

// dkim_signed_headers: RFC 6376 5.4.1's list of fields worth signing, those a reader sees or a
// list manager adds; signed when present (and over-signed per dkim_oversigned_headers).
constexpr std::string_view kDkimSignedHeadersDefault =
    "from, reply-to, subject, date, to, cc, resent-date, resent-from, resent-to, resent-cc, "
    "in-reply-to, references, message-id, mime-version, content-type, "
    "content-transfer-encoding, content-id, content-description, list-id, list-help, "
    "list-unsubscribe, list-unsubscribe-post, list-subscribe, list-post, list-owner, "
    "list-archive";

constexpr ParamSpec text(std::string_view name, std::string_view def,
                         std::string_view choices = {}) {
  return ParamSpec{name, ParamType::kString, def, 0, INT64_MAX, 's', choices, false};
}
constexpr ParamSpec computed(std::string_view name, std::string_view shown_default) {
  return ParamSpec{name, ParamType::kString, shown_default, 0, INT64_MAX, 's', {}, true};
}
constexpr ParamSpec list(std::string_view name, std::string_view def,
                         std::string_view choices = {}) {
  return ParamSpec{name, ParamType::kList, def, 0, INT64_MAX, 's', choices, false};
}
constexpr ParamSpec integer(std::string_view name, std::string_view def, int64_t min, int64_t max) {
  return ParamSpec{name, ParamType::kInt, def, min, max, 's', {}, false};
}
constexpr ParamSpec size(std::string_view name, std::string_view def, int64_t min, int64_t max) {
  return ParamSpec{name, ParamType::kSize, def, min, max, 's', {}, false};
}
constexpr ParamSpec time(std::string_view name, std::string_view def, int64_t min, int64_t max,
                         char unit = 's') {
  return ParamSpec{name, ParamType::kTime, def, min, max, unit, {}, false};
}
constexpr ParamSpec boolean(std::string_view name, std::string_view def) {
  return ParamSpec{name, ParamType::kBool, def, 0, 1, 's', {}, false};
}

// Sorted by name so that find_parameter can binary-search (checked by a static_assert below).
constexpr std::array kParameters = {
    text("accounts_file", "$config_directory/accounts.yaml"),
    list("alias_database", "hash:/etc/aliases"),
    list("alias_maps", "hash:/etc/aliases"),
    list("allow_mail_to_commands", "alias, forward", "alias|forward|include"),
    list("allow_mail_to_files", "alias, forward", "alias|forward|include"),
    list("alternate_config_directories", ""),
    boolean("arc_sealing", "yes"),
    integer("auth_throttle_free_failures", "2", 0, 1000),
    time("auth_throttle_max_delay", "16s", 0, kMinute * 10),
    integer("auth_throttle_refuse_after", "10", 1, 100000),
    time("auth_throttle_refuse_time", "600s", 1, kDay),
    time("auth_throttle_window", "600s", 1, kDay),
    text("authmilter_authserv_id", "$myhostname"),
    integer("authmilter_dns_cache_size", "10000", 0, 10000000),
    text("bounce_notice_recipient", "postmaster"),
    time("bounce_queue_lifetime", "5d", 0, 100 * kDay, 'd'),
    text("command_directory", "/usr/sbin"),
    time("command_time_limit", "1000s", 1, kDay),
    text("config_directory", "/etc/postern"),
    text("daemon_directory", "/usr/lib/postern"),
    text("data_directory", "/var/lib/postern"),
    list("debug_peer_list", ""),
    integer("default_destination_concurrency_limit", "20", 1, 1000),
    text("default_privs", "nobody"),
    time("delay_warning_time", "0h", 0, 100 * kDay, 'h'),
    time("deliver_lock_timeout", "30s", 1, kHour),
    integer("delivery_concurrency_limit", "4", 1, 1000),
    text("dkim_canonicalization", "relaxed/relaxed",
         "relaxed/relaxed|relaxed/simple|simple/relaxed|simple/simple|relaxed|simple"),
    text("dkim_key_directory", "$config_directory/dkim"),
    integer("dkim_min_key_bits", "1024", 1024, 16384),
    list("dkim_oversigned_headers", "from, to, subject, date, message-id, reply-to"),
    list("dkim_signed_headers", kDkimSignedHeadersDefault),
    boolean("dmarc_enforcement", "no"),
    text("double_bounce_sender", "double-bounce"),
    size("header_size_limit", "102400", 1024, 64 * 1024 * 1024),
    text("home_mailbox", ""),
    time("imapd_login_timeout", "60s", 1, kHour),
    boolean("imapd_loopback_plaintext_auth", "no"),
    size("imapd_max_line_length", "65536", 1024, 16 * 1024 * 1024),
    time("imapd_timeout", "1800s", 60, kDay),
    boolean("imapd_tls_auth_only", "yes"),
    boolean("imapd_tls_wrappermode", "no"),
    integer("imapd_user_ip_connection_limit", "10", 1, 100000),
    list("inet_interfaces", "all"),
    list("inet_protocols", "all", "all|ipv4|ipv6"),
    list("internal_mail_filter_classes", "", "bounce|notify"),
    time("ipc_timeout", "3600s", 1, kDay),
    integer("line_length_limit", "2048", 512, 1024 * 1024),
    integer("local_destination_concurrency_limit", "2", 1, 1000),
    list("local_recipient_maps", "unix:passwd.byname $alias_maps"),
    text("mail_owner", "postern"),
    text("mail_spool_directory", "/var/mail"),
    size("mailbox_size_limit", "51200000", 0, kMaxSize),
    text("maillog_file", ""),
    list("maillog_file_prefixes", "/var, /dev/stdout"),
    time("maximal_backoff_time", "4000s", 1, 100 * kDay),
    time("maximal_queue_lifetime", "5d", 0, 100 * kDay, 'd'),
    size("message_size_limit", "10240000", 0, kMaxSize),
    time("milter_command_timeout", "30s", 1, kHour),
    list("milter_connect_macros", "j {daemon_name} {daemon_addr} v _"),
    time("milter_connect_timeout", "30s", 1, kHour),
    time("milter_content_timeout", "300s", 1, kHour),
    list("milter_data_macros", "i"),
    text("milter_default_action", "tempfail", "accept|reject|tempfail|quarantine"),
    list("milter_end_of_data_macros", "i"),
    list("milter_end_of_header_macros", "i"),
    list("milter_helo_macros", "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}"),
    text("milter_macro_daemon_name", "$myhostname"),
    list("milter_mail_macros",
         "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}"),
    integer("milter_protocol", "6", 2, 6),
    list("milter_rcpt_macros", "i {rcpt_addr} {rcpt_host} {rcpt_mailer}"),
    list("milter_unknown_command_macros", ""),
    time("minimal_backoff_time", "300s", 1, 100 * kDay),
    list("mydestination", "$myhostname, localhost.$mydomain, localhost"),
    computed("mydomain", "$myhostname minus its first label, or localdomain"),
    computed("myhostname", "the host name from gethostname(), lower-cased"),
    list("mynetworks", ""),
    text("myorigin", "$myhostname"),
    list("non_smtpd_milters", ""),
    text("queue_directory", "/var/spool/postern"),
    time("queue_run_delay", "300s", 1, kDay),
    text("recipient_delimiter", "+"),
    integer("relay_concurrency_limit", "50", 1, 1000),
    list("relay_domains", ""),
    text("relayhost", ""),
    time("service_throttle_limit", "60s", 1, kDay),
    time("service_throttle_reset_time", "60s", 1, kDay),
    time("service_throttle_time", "2s", 0, kHour),
    text("setgid_group", "postdrop"),
    time("shutdown_grace_time", "10s", 0, kHour),
    time("smtp_connect_timeout", "30s", 1, kHour),
    time("smtp_connection_cache_time_limit", "2s", 0, kHour),
    time("smtp_data_done_timeout", "600s", 1, kHour),
    time("smtp_data_init_timeout", "120s", 1, kHour),
    time("smtp_data_xfer_timeout", "180s", 1, kHour),
    text("smtp_dns_resolver_address", ""),
    text("smtp_helo_name", "$myhostname"),
    time("smtp_helo_timeout", "300s", 1, kHour),
    time("smtp_mail_timeout", "300s", 1, kHour),
    time("smtp_rcpt_timeout", "300s", 1, kHour),
    list("smtp_sasl_password_maps", ""),
    text("smtp_tls_CAfile", ""),
    text("smtp_tls_security_level", "may", "none|may|encrypt|verify|secure"),
    boolean("smtp_tls_wrappermode", "no"),
    text("smtpd_banner", "$myhostname ESMTP Postern"),
    integer("smtpd_client_connection_count_limit", "50", 1, 100000),
    time("smtpd_error_sleep_time", "1s", 0, kMinute * 10),
    boolean("smtpd_forbid_bare_newline", "yes"),
    integer("smtpd_hard_error_limit", "20", 1, 100000),
    boolean("smtpd_helo_required", "no"),
    list("smtpd_milters", ""),
    integer("smtpd_recipient_limit", "1000", 1, 1000000),
    boolean("smtpd_sasl_auth_enable", "no"),
    text("smtpd_sasl_local_domain", ""),
    list("smtpd_sender_login_maps", ""),
    integer("smtpd_soft_error_limit", "10", 1, 100000),
    time("smtpd_timeout", "300s", 1, kHour),
    boolean("smtpd_tls_auth_only", "yes"),
    text("smtpd_tls_cert_file", ""),
    text("smtpd_tls_cipherlist", kTlsServerCipherListDefault),
    text("smtpd_tls_key_file", ""),
    integer("smtpd_tls_loglevel", "0", 0, 4),
    text("smtpd_tls_security_level", "may", "none|may|encrypt"),
    boolean("smtpd_tls_wrappermode", "no"),
    boolean("soft_bounce", "no"),
    list("submission_milters", ""),
    text("syslog_facility", "mail",
         "mail|daemon|user|local0|local1|local2|local3|local4|local5|local6|local7"),
    text("syslog_name", "postern"),
    time("temporary_file_lifetime", "1d", 1, 365 * kDay),
    list("transport_maps", ""),
    text("virtual_mailbox_base", "/var/mail/vhosts"),
};

constexpr bool table_is_sorted() {
  for (size_t i = 1; i < kParameters.size(); ++i) {
    if (!(kParameters[i - 1].name < kParameters[i].name)) return false;
  }
  return true;
}
static_assert(table_is_sorted(), "kParameters must be sorted by name, without duplicates");

}  // namespace

std::span<const ParamSpec> all_parameters() {
  return kParameters;
}

const ParamSpec* find_parameter(std::string_view name) {
  auto it =
      std::lower_bound(kParameters.begin(), kParameters.end(), name,
                       [](const ParamSpec& spec, std::string_view key) { return spec.name < key; });
  if (it == kParameters.end() || it->name != name) return nullptr;
  return &*it;
}

std::string_view param_type_name(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "string";
    case ParamType::kInt:
      return "integer";
    case ParamType::kSize:
      return "size";
    case ParamType::kTime:
      return "time";
    case ParamType::kBool:
      return "boolean";
    case ParamType::kList:
      return "list";
  }
  return "string";
}

}  // namespace postern
