// What postern-authmilter reads from main.cf, once, at start: the authserv-id its
// Authentication-Results carry, where the DKIM keys are and how to sign, whether DMARC is
// enforced, which clients count as ours (mynetworks), and the resolver every DNS question goes
// to (smtp_dns_resolver_address, the one resolver setting of the suite). Trusts the checked
// main.cf; a value that does not make sense here is an error naming the parameter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/dkim/dkim_signature.hpp"
#include "lib/net/network_list.hpp"

namespace postern::authmilter {

struct AuthmilterSettings {
  std::string authserv_id;                       // authmilter_authserv_id (default $myhostname)
  std::string key_directory;                     // dkim_key_directory
  DkimCanon header_canon = DkimCanon::kRelaxed;  // dkim_canonicalization, before the slash
  DkimCanon body_canon = DkimCanon::kRelaxed;    // and after it
  std::vector<std::string> signed_headers;       // dkim_signed_headers, lower-cased
  std::vector<std::string> oversigned_headers;   // dkim_oversigned_headers, lower-cased
  int min_key_bits = 1024;                       // dkim_min_key_bits
  bool dmarc_enforcement = false;                // dmarc_enforcement
  NetworkList mynetworks;  // clients whose mail is ours to sign (like OpenDKIM's InternalHosts)
  std::string resolver_address;  // smtp_dns_resolver_address ("" = /etc/resolv.conf)
  int dns_timeout_ms = 2000;
  size_t dns_cache_entries = 10000;  // authmilter_dns_cache_size
  std::string hostname;              // myhostname, for SPF's %{r} and log lines
};

Result<AuthmilterSettings> load_authmilter_settings(const MainConfig& config);

}  // namespace postern::authmilter
