// The DNS records a domain of ours should publish, as `postern dns` and `postern dkim keygen|
// rotate` print them: MX, SPF, DKIM (one TXT per key, from the key itself), DMARC, MTA-STS (the
// _mta-sts TXT and the policy file to serve over HTTPS), TLS-RPT, the RFC 6186 SRV records of
// the mail clients' services and the autoconfig/autodiscover names. Printed as zone-file lines
// ("name TTL IN TYPE data", absolute names, each record after its comment lines) or as JSON
// (the same records as {name, type, value, comment}). Runs in the `postern` command; the inputs
// are the admin's main.cf and key folder, the domain a checked DNS name (is_valid_dkim_domain).
// Every TXT value is written as character-strings of at most kMaxTxtCharacterStringBytes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dkim/dkim_key_store.hpp"

namespace postern::cli {

inline constexpr int kDnsRecordTtlSeconds = 3600;
inline constexpr int kMtaStsMaxAgeSeconds = 604800;  // one week, RFC 8461's example
inline constexpr size_t kMtaStsIdChars = 32;         // RFC 8461: 1 to 32 letters and digits

struct DnsRecord {
  std::string name;     // absolute: "_dmarc.example.org."
  std::string type;     // "MX", "TXT", "SRV", "CNAME"
  std::string value;    // TXT: the whole text, unsplit and unquoted; others: the zone's RDATA
  std::string comment;  // why it is there; may hold several lines
};

struct DnsRecordInputs {
  std::string domain;      // example.org
  std::string myhostname;  // the MX and the host of every SRV record
  std::string relayhost;   // main.cf's; "" when mail goes out directly
  std::vector<DkimKeyEntry> dkim_keys;
};

// "name." for "name" (absolute); unchanged when it already ends in '.'.
std::string absolute_name(std::string_view name);

// The DKIM record of one key: "<selector>._domainkey.<domain>." TXT.
DnsRecord dkim_record(const DkimKeyEntry& key);

// The MTA-STS policy file of RFC 8461 (STSv1, mode testing, our one MX, a week), LF lines.
std::string mta_sts_policy(std::string_view myhostname);
// Where it must be served.
std::string mta_sts_policy_url(std::string_view domain);
// The id of the _mta-sts record: from the policy's text (the first kMtaStsIdChars hex digits of
// its SHA-256), so it changes exactly when the policy does.
std::string mta_sts_id(std::string_view policy);

// Every record of the domain, in the order postern(8) describes them.
std::vector<DnsRecord> domain_dns_records(const DnsRecordInputs& inputs);

// One record as zone-file text: "; comment" lines, then "name TTL IN TYPE data\n".
std::string zone_text(const DnsRecord& record);
// {name, type, value, comment}; for TXT also "strings": the character-strings of the zone.
nlohmann::json record_json(const DnsRecord& record);

}  // namespace postern::cli
