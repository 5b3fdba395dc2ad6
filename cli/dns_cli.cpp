// `postern dns DOMAIN [--json]`: the DNS records the domain should publish, from main.cf
// (myhostname, relayhost) and the DKIM keys in dkim_key_directory (cli/dns_records.hpp), as
// zone-file lines to paste or as JSON. Reads only; the key files are mail_owner's, so it is
// root or mail_owner who sees the DKIM records. The domain comes from the command line and is
// checked as a DNS name (exit 2 otherwise).
#include <fmt/format.h>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/dkim_commands.hpp"
#include "cli/dns_records.hpp"
#include "cli/exit_codes.hpp"
#include "lib/base/ascii.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] dns DOMAIN [--json]\n"
    "Prints the records DOMAIN should publish: MX, SPF, DKIM (every key, signing and retired),\n"
    "DMARC, MTA-STS (and its policy file), TLS-RPT, SRV for mail clients (RFC 6186), autoconfig.\n";

}  // namespace

int run_dns(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {{"--json"}});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (args->operands.size() != 1) return usage_error(invocation, "which domain?", kUsage);
  const std::string domain = ascii_lowercase(args->operands[0]);
  if (!is_valid_dkim_domain(domain)) {
    return usage_error(invocation, "\"" + args->operands[0] + "\" is not a domain name", kUsage);
  }
  std::optional<MainConfig> config = load_dkim_config(invocation);
  if (!config) return kExitFailed;
  Result<DkimKeyStore> store = open_dkim_key_store(*config);
  if (!store) return report_failure(invocation, "keys", store.error());
  Result<std::vector<DkimKeyEntry>> keys = store->domain_keys(domain);
  if (!keys) return report_failure(invocation, "DKIM keys", keys.error());

  DnsRecordInputs inputs{domain, config->get("myhostname"), config->get("relayhost"),
                         std::move(keys).value()};
  const std::vector<DnsRecord> records = domain_dns_records(inputs);
  const std::string policy = mta_sts_policy(inputs.myhostname);
  if (args->has("--json")) {
    nlohmann::json listed = nlohmann::json::array();
    for (const DnsRecord& record : records) {
      if (!record.name.empty()) listed.push_back(record_json(record));
    }
    print_json({{"domain", domain},
                {"records", listed},
                {"mta_sts_policy", {{"url", mta_sts_policy_url(domain)}, {"text", policy}}}});
    return finish_stdout();
  }
  std::string text = fmt::format(
      "; The DNS records of {} (postern dns): zone-file lines with absolute names,\n"
      "; ready to paste into the zone of {}.\n",
      domain, domain);
  for (const DnsRecord& record : records) text += "\n" + zone_text(record);
  write_stdout(text);
  return finish_stdout();
}

}  // namespace postern::cli
