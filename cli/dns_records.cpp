// The records of `postern dns` (see dns_records.hpp).
#include "cli/dns_records.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cstdio>

namespace postern::cli {
namespace {

constexpr int kMxPreference = 10;

struct ClientService {
  std::string_view srv_label;  // "_submission._tcp"
  int port;                    // 0: not offered
  std::string_view what;
};

// RFC 6186 (and RFC 8314 for submissions): what a mail client looks up to find its servers.
constexpr ClientService kClientServices[] = {
    {"_submission._tcp", 587, "SRV: mail submission with STARTTLS (RFC 6186)"},
    {"_submissions._tcp", 465, "SRV: mail submission over implicit TLS (RFC 8314)"},
    {"_imap._tcp", 143, "SRV: IMAP with STARTTLS (RFC 6186)"},
    {"_imaps._tcp", 993, "SRV: IMAP over implicit TLS (RFC 6186)"},
    {"_pop3._tcp", 0,
     "SRV: POP3: not offered by Postern (target \".\": no such service, RFC 2782)"},
    {"_pop3s._tcp", 0, "SRV: POP3 over TLS: not offered by Postern (target \".\")"},
};

std::string hex_sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    std::fprintf(stderr, "postern: SHA-256 is not available\n");
    std::abort();  // OpenSSL without SHA-256 is a broken installation, not a user's error
  }
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::string under(std::string_view label, std::string_view domain) {
  return absolute_name(std::string(label) + "." + std::string(domain));
}

}  // namespace

std::string absolute_name(std::string_view name) {
  std::string absolute(name);
  if (absolute.empty() || absolute.back() != '.') absolute += '.';
  return absolute;
}

DnsRecord dkim_record(const DkimKeyEntry& key) {
  std::string comment =
      fmt::format("DKIM: {} key of {} bits, {}", dkim_key_type_name(key.public_key.type),
                  key.public_key.bits, key.path);
  if (key.retired) {
    comment += fmt::format(
        "\nretired: it signs no more; keep this record until mail signed with it has been "
        "read\n(a week is plenty), then: postern dkim remove {} {}",
        key.domain, key.selector);
  } else {
    comment += "\nsigns: receivers cannot verify its signatures until this record is published";
  }
  return DnsRecord{under(key.selector + "._domainkey", key.domain), "TXT", key.public_key.record,
                   comment};
}

std::string mta_sts_policy(std::string_view myhostname) {
  return fmt::format("version: STSv1\nmode: testing\nmx: {}\nmax_age: {}\n", myhostname,
                     kMtaStsMaxAgeSeconds);
}

std::string mta_sts_policy_url(std::string_view domain) {
  return fmt::format("https://mta-sts.{}/.well-known/mta-sts.txt", domain);
}

std::string mta_sts_id(std::string_view policy) {
  return hex_sha256(policy).substr(0, kMtaStsIdChars);
}

std::vector<DnsRecord> domain_dns_records(const DnsRecordInputs& inputs) {
  const std::string& domain = inputs.domain;
  const std::string apex = absolute_name(domain);
  const std::string host = absolute_name(inputs.myhostname);
  std::vector<DnsRecord> records;

  records.push_back({apex, "MX", fmt::format("{} {}", kMxPreference, host),
                     "MX: mail for " + domain + " comes to this server ($myhostname)"});

  std::string spf_comment = "SPF: only the hosts of the MX record send mail from " + domain;
  if (!inputs.relayhost.empty()) {
    spf_comment += "\nmail leaves through relayhost " + inputs.relayhost +
                   ": add the provider's SPF record\n(its include: mechanism, before -all), as "
                   "the provider documents it";
  }
  records.push_back({apex, "TXT", "v=spf1 mx -all", spf_comment});

  if (inputs.dkim_keys.empty()) {
    // A comment only: there is no record to publish yet.
    records.push_back({"", "", "", "DKIM: no key yet: postern dkim keygen " + domain});
  }
  for (const DkimKeyEntry& key : inputs.dkim_keys) records.push_back(dkim_record(key));

  records.push_back({under("_dmarc", domain), "TXT",
                     "v=DMARC1; p=none; rua=mailto:postmaster@" + domain,
                     "DMARC: p=none asks for reports only; once they show every source of mail "
                     "from " +
                         domain + "\npasses SPF or DKIM, move to p=quarantine, then p=reject"});

  const std::string policy = mta_sts_policy(inputs.myhostname);
  std::string policy_comment =
      "MTA-STS (RFC 8461): senders use TLS to our MX; the id changes "
      "with the policy.\nServe this policy as " +
      mta_sts_policy_url(domain) + "\n(a certificate valid for mta-sts." + domain + "):";
  for (size_t at = 0; at < policy.size();) {
    size_t end = policy.find('\n', at);
    policy_comment += "\n  " + policy.substr(at, end - at);
    at = end + 1;
  }
  records.push_back(
      {under("_mta-sts", domain), "TXT", "v=STSv1; id=" + mta_sts_id(policy), policy_comment});
  records.push_back({under("_smtp._tls", domain), "TXT",
                     "v=TLSRPTv1; rua=mailto:postmaster@" + domain,
                     "TLS-RPT (RFC 8460): where senders report TLS failures"});

  for (const ClientService& service : kClientServices) {
    std::string value =
        service.port == 0 ? std::string("0 0 0 .") : fmt::format("0 1 {} {}", service.port, host);
    records.push_back({under(service.srv_label, domain), "SRV", value, std::string(service.what)});
  }
  records.push_back({under("autoconfig", domain), "CNAME", host,
                     "autoconfig (Thunderbird): mail clients look here for their settings; the "
                     "host must\nserve /mail/config-v1.1.xml over HTTPS (Postern does not)"});
  records.push_back(
      {under("autodiscover", domain), "CNAME", host,
       "autodiscover (Outlook): the same for Outlook's /autodiscover/autodiscover.xml"});
  return records;
}

std::string zone_text(const DnsRecord& record) {
  std::string text;
  for (size_t at = 0; at < record.comment.size();) {
    size_t end = record.comment.find('\n', at);
    if (end == std::string::npos) end = record.comment.size();
    text += "; " + record.comment.substr(at, end - at) + "\n";
    at = end + 1;
  }
  if (record.name.empty()) return text;
  const std::string data =
      record.type == "TXT" ? zone_character_strings(record.value) : record.value;
  text += fmt::format("{} {} IN {} {}\n", record.name, kDnsRecordTtlSeconds, record.type, data);
  return text;
}

nlohmann::json record_json(const DnsRecord& record) {
  nlohmann::json json = {{"name", record.name},
                         {"type", record.type},
                         {"value", record.value},
                         {"comment", record.comment},
                         {"ttl", kDnsRecordTtlSeconds}};
  if (record.type == "TXT") json["strings"] = split_character_strings(record.value);
  return json;
}

}  // namespace postern::cli
