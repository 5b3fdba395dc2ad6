// The smtpd's view of main.cf: every limit and name the sessions use, read once at start into
// plain fields so that the hot path never parses configuration. Run by postern-smtpd and by
// postern-submission (the same session engine; `submission` turns on AUTH, the sender rules and
// the header checks, which port 25 never uses). Trusts the admin's config (already checked
// against the parameter table by MainConfig).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/auth/auth_throttle.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/milter/milter_settings.hpp"
#include "lib/net/network_list.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/base/result.hpp"

namespace postern::smtpd {

enum class TlsLevel { kNone, kMay, kEncrypt };

struct SmtpdSettings {
  std::string hostname;             // myhostname: greeting, Received, reply texts
  std::string banner;               // smtpd_banner, after "220 "
  uint64_t message_size_limit = 0;  // bytes; 0 = no limit
  size_t recipient_limit = 1000;    // smtpd_recipient_limit
  size_t line_length_limit = 2048;  // command line bytes without the CRLF
  int soft_error_limit = 10;
  int hard_error_limit = 20;
  int error_sleep_ms = 1000;        // smtpd_error_sleep_time, once past the soft limit
  int timeout_seconds = 300;        // smtpd_timeout: per command and per read in DATA
  int connection_count_limit = 50;  // per client address, per smtpd process
  bool forbid_bare_newline = true;
  TlsLevel tls_level = TlsLevel::kMay;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_cipher_list;  // smtpd_tls_cipherlist (OpenSSL's syntax), checked at load
  std::string recipient_delimiter;         // "+" (characters, any one of them)
  std::vector<std::string> relay_domains;  // lower-case; we accept mail for them from anyone
  NetworkList mynetworks;                  // clients that may relay
  QueueLayout queue;
  std::string accounts_db;  // $data_directory/accounts
  std::string data_directory;
  milter::MilterSettings milters;  // smtpd_milters (submission: submission_milters)

  // Submission only (postern-submission sets `submission`; postern-smtpd leaves it false and
  // ignores the rest, so port 25 never offers AUTH).
  bool submission = false;
  bool tls_auth_only = true;     // smtpd_tls_auth_only: AUTH only inside TLS
  bool tls_wrappermode = false;  // smtpd_tls_wrappermode: TLS from the first byte (465)
  std::string sasl_local_domain;  // appended to login names without '@'
  size_t header_size_limit = 102400;
  std::vector<std::string> sender_login_maps;  // smtpd_sender_login_maps as written
  AuthThrottleLimits auth_throttle;
};

// Reads and checks what smtpd needs; a bad mynetworks entry, smtpd_tls_cipherlist or milter
// list is an error. milter_list: the parameter naming this service's milters.
Result<SmtpdSettings> load_smtpd_settings(const MainConfig& config,
                                          std::string_view milter_list = "smtpd_milters");

}  // namespace postern::smtpd
