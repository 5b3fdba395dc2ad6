// Reads postern-authmilter's parameters (see authmilter_settings.hpp).
#include "authmilter/authmilter_settings.hpp"

#include "lib/base/ascii.hpp"
#include "lib/dkim/dkim_signature.hpp"

namespace postern::authmilter {
namespace {

std::vector<std::string> lower_list(const std::vector<std::string>& names) {
  std::vector<std::string> lowered;
  lowered.reserve(names.size());
  for (const std::string& name : names) lowered.push_back(ascii_lowercase(name));
  return lowered;
}

}  // namespace

Result<AuthmilterSettings> load_authmilter_settings(const MainConfig& config) {
  AuthmilterSettings settings;
  settings.authserv_id = config.get("authmilter_authserv_id");
  if (settings.authserv_id.empty()) {
    return Error::config("authmilter_authserv_id must not be empty");
  }
  settings.key_directory = config.get("dkim_key_directory");
  std::optional<DkimCanonPair> canon =
      parse_dkim_canonicalization(ascii_lowercase(config.get("dkim_canonicalization")));
  if (!canon) {
    return Error::config("dkim_canonicalization must be relaxed or simple, header/body: " +
                         config.get("dkim_canonicalization"));
  }
  settings.header_canon = canon->header;
  settings.body_canon = canon->body;
  settings.signed_headers = lower_list(config.get_list("dkim_signed_headers"));
  settings.oversigned_headers = lower_list(config.get_list("dkim_oversigned_headers"));
  bool signs_from = false;
  for (const std::string& name : settings.signed_headers) signs_from |= name == "from";
  if (!signs_from) return Error::config("dkim_signed_headers must include From (RFC 6376 5.4)");
  settings.min_key_bits = static_cast<int>(config.get_int("dkim_min_key_bits"));
  settings.dmarc_enforcement = config.get_bool("dmarc_enforcement");
  Result<NetworkList> networks = NetworkList::parse(config.get_list("mynetworks"));
  if (!networks) return Error::config("mynetworks: " + networks.error().message);
  settings.mynetworks = std::move(networks).value();
  settings.resolver_address = config.get("smtp_dns_resolver_address");
  settings.dns_cache_entries = static_cast<size_t>(config.get_int("authmilter_dns_cache_size"));
  settings.hostname = config.get("myhostname");
  return settings;
}

}  // namespace postern::authmilter
