// master.cf: the service table, Postfix style, read by master at start and on SIGHUP.
//   service type private unpriv chroot wakeup maxproc command [args...]
// type is inet or unix; "-" means the default for a column. For inet services the service
// field is [host:]port. Continuation lines begin with white space. Trusted (admin's file).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

struct ServiceEntry {
  std::string name;            // "smtp", "127.0.0.1:2525", "qmgr"
  std::string type;            // "inet" or "unix"
  bool is_private = true;      // unix: socket under private/ (else public/)
  bool unprivileged = true;    // drop to mail_owner
  bool chroot = false;         // accepted and recorded; not used yet
  int wakeup_seconds = 0;      // 0: none
  int max_processes = 1;       // copies master starts ("-" = 1: each copy serves many clients)
  std::string command;         // "smtpd" -> $daemon_directory/postern-smtpd
  std::vector<std::string> args;                           // remaining words, e.g. "-v"
  std::vector<std::pair<std::string, std::string>> overrides;  // from "-o name=value"
  int line = 0;
  // inet: host part ("" = all addresses) and port (service names like "smtp" resolved to 25).
  std::string listen_host;
  int listen_port = 0;
};

Result<std::vector<ServiceEntry>> parse_master_cf(std::string_view text, std::string_view file_name);
Result<std::vector<ServiceEntry>> load_master_cf(const std::string& path);

}  // namespace postern
