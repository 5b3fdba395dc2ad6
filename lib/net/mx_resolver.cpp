// MX lookup for relay on lib/net/dns_client (see mx_resolver.hpp). The answers it reads have been
// checked by the client (ID, question, CNAME chain) and bounded by lib/net/dns_message; this file
// only decides what they mean for delivery.
#include "lib/net/mx_resolver.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {

namespace {

// Lower-cased, without the root's trailing dot.
std::string normalized_domain(std::string_view text) {
  std::string out = ascii_lowercase(text);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

struct MxResolver::Lookup {
  // One A or AAAA question of the address phase and its outcome.
  struct AddressQuery {
    std::string name;
    size_t host_index = 0;  // which MxHost the addresses are for
    bool failed = false;    // temporary failure (timeout, socket, SERVFAIL, malformed)
    std::string failure;
  };

  uint64_t id = 0;
  std::string domain;
  Callback done;
  bool from_mx = false;
  std::vector<MxHost> hosts;
  std::vector<AddressQuery> address_queries;  // in the order sent: A before AAAA per host
  std::vector<uint64_t> client_queries;       // every DnsClient query, to cancel them
  size_t outstanding = 0;
};

Result<std::unique_ptr<MxResolver>> MxResolver::create(event_base* base,
                                                       MxResolverOptions options) {
  if (options.timeout_ms <= 0 || options.attempts <= 0 || options.attempts > kMaxDnsAttempts ||
      options.max_mx_hosts == 0) {
    return Error::config("mx resolver: timeout, attempts and max_mx_hosts must be positive");
  }
  DnsClientOptions client_options;
  client_options.resolver_address = options.resolver_address;
  client_options.timeout_ms = options.timeout_ms;
  client_options.attempts = options.attempts;
  client_options.edns_udp_bytes = options.edns_udp_bytes;
  Result<std::unique_ptr<DnsClient>> client = DnsClient::create(base, std::move(client_options));
  if (!client) return client.error();
  return std::unique_ptr<MxResolver>(new MxResolver(std::move(options), std::move(*client)));
}

MxResolver::MxResolver(MxResolverOptions options, std::unique_ptr<DnsClient> client)
    : options_(std::move(options)), client_(std::move(client)), shuffle_(std::random_device{}()) {}

MxResolver::~MxResolver() = default;

Result<uint64_t> MxResolver::resolve(std::string_view domain, Callback done) {
  if (Status checked = check_dns_name(domain); !checked) return checked.error();
  auto lookup = std::make_unique<Lookup>();
  lookup->id = next_lookup_id_++;
  lookup->domain = normalized_domain(domain);
  lookup->done = std::move(done);
  uint64_t lookup_id = lookup->id;
  Result<uint64_t> query = client_->query(
      lookup->domain, kDnsTypeMx,
      [this, lookup_id](DnsClientAnswer answer) { on_mx_answer(lookup_id, std::move(answer)); });
  if (!query) return query.error();
  lookup->client_queries.push_back(*query);
  lookup->outstanding = 1;
  lookups_.emplace(lookup_id, std::move(lookup));
  return lookup_id;
}

Result<uint64_t> MxResolver::resolve_host(std::string_view host, Callback done) {
  if (Status checked = check_dns_name(host); !checked) return checked.error();
  auto lookup = std::make_unique<Lookup>();
  lookup->id = next_lookup_id_++;
  lookup->domain = normalized_domain(host);
  lookup->done = std::move(done);
  lookup->from_mx = false;
  lookup->hosts.push_back(MxHost{0, lookup->domain, {}});
  Lookup& ref = *lookup;
  lookups_.emplace(ref.id, std::move(lookup));
  if (!start_address_phase(ref)) {
    std::string why = ref.address_queries.empty() ? std::string("no query started")
                                                  : ref.address_queries.front().failure;
    lookups_.erase(ref.id);  // nothing outstanding: the callback never runs
    return Error::temporary(why);
  }
  return ref.id;
}

void MxResolver::cancel(uint64_t lookup_id) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end()) return;
  for (uint64_t query : it->second->client_queries) client_->cancel(query);
  lookups_.erase(it);
}

void MxResolver::on_mx_answer(uint64_t lookup_id, DnsClientAnswer answer) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end()) return;
  Lookup& lookup = *it->second;
  lookup.outstanding = 0;
  if (answer.outcome == DnsClientOutcome::kNxDomain) {
    finish(
        lookup_id,
        MxResult{MxStatus::kNotFound, false, {}, fmt::format("{}: no such domain", lookup.domain)});
    return;
  }
  if (answer.outcome != DnsClientOutcome::kAnswer) {
    finish(lookup_id, MxResult{MxStatus::kTemporary, false, {}, answer.reason});
    return;
  }
  std::vector<MxHost> hosts;
  bool null_mx = false;
  for (const DnsRecord& record : answer.answer.records) {
    if (record.target.empty()) {  // "." exchange: RFC 7505
      null_mx = true;
      continue;
    }
    bool seen = std::any_of(hosts.begin(), hosts.end(),
                            [&](const MxHost& h) { return h.host == record.target; });
    if (!seen) hosts.push_back(MxHost{record.preference, record.target, {}});
  }
  if (null_mx && hosts.empty()) {
    finish(lookup_id,
           MxResult{MxStatus::kNullMx,
                    true,
                    {},
                    fmt::format("{}: null MX, the domain accepts no mail", lookup.domain)});
    return;
  }
  if (hosts.empty()) {
    // No MX records: the domain itself is the host, at an implicit preference 0.
    lookup.from_mx = false;
    hosts.push_back(MxHost{0, lookup.domain, {}});
  } else {
    lookup.from_mx = true;
    std::shuffle(hosts.begin(), hosts.end(), shuffle_);
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    if (hosts.size() > options_.max_mx_hosts) hosts.resize(options_.max_mx_hosts);
  }
  lookup.hosts = std::move(hosts);
  start_address_phase(lookup);
  finish_if_done(lookup_id);  // when no address query could start
}

bool MxResolver::start_address_phase(Lookup& lookup) {
  uint64_t lookup_id = lookup.id;
  for (size_t i = 0; i < lookup.hosts.size(); ++i) {
    for (uint16_t type : {kDnsTypeA, kDnsTypeAaaa}) {
      if (type == kDnsTypeAaaa && !options_.want_ipv6) continue;
      size_t index = lookup.address_queries.size();
      lookup.address_queries.push_back(Lookup::AddressQuery{lookup.hosts[i].host, i, false, ""});
      Result<uint64_t> query = client_->query(
          lookup.hosts[i].host, type, [this, lookup_id, index](DnsClientAnswer answer) {
            on_address_answer(lookup_id, index, std::move(answer));
          });
      if (!query) {
        lookup.address_queries[index].failed = true;
        lookup.address_queries[index].failure = query.error().message;
        continue;
      }
      lookup.client_queries.push_back(*query);
      ++lookup.outstanding;
    }
  }
  return lookup.outstanding > 0;
}

void MxResolver::on_address_answer(uint64_t lookup_id, size_t query_index, DnsClientAnswer answer) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end()) return;
  Lookup& lookup = *it->second;
  --lookup.outstanding;
  Lookup::AddressQuery& query = lookup.address_queries[query_index];
  if (answer.outcome == DnsClientOutcome::kAnswer) {
    MxHost& host = lookup.hosts[query.host_index];
    for (const DnsRecord& record : answer.answer.records) {
      if (!record.address.empty() && std::find(host.addresses.begin(), host.addresses.end(),
                                               record.address) == host.addresses.end()) {
        host.addresses.push_back(record.address);
      }
    }
  } else if (answer.outcome != DnsClientOutcome::kNxDomain) {
    query.failed = true;
    query.failure = answer.reason;
  }
  finish_if_done(lookup_id);
}

void MxResolver::finish_if_done(uint64_t lookup_id) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end() || it->second->outstanding > 0) return;
  Lookup& lookup = *it->second;
  // A before AAAA per host: order each host's addresses by the query that found them.
  MxResult result;
  result.from_mx = lookup.from_mx;
  std::string temporary;
  for (const Lookup::AddressQuery& query : lookup.address_queries) {
    if (query.failed && temporary.empty()) temporary = query.name + ": " + query.failure;
  }
  for (MxHost& host : lookup.hosts) {
    std::stable_sort(host.addresses.begin(), host.addresses.end(),
                     [](const std::string& a, const std::string& b) {
                       return (a.find(':') == std::string::npos) >
                              (b.find(':') == std::string::npos);
                     });
    if (!host.addresses.empty()) result.hosts.push_back(std::move(host));
  }
  if (!result.hosts.empty()) {
    result.status = MxStatus::kOk;
  } else if (!temporary.empty()) {
    result.status = MxStatus::kTemporary;
    result.reason = temporary;
  } else if (lookup.from_mx) {
    result.status = MxStatus::kNoAddress;
    result.reason = fmt::format("{}: no MX host has an address", lookup.domain);
  } else {
    result.status = MxStatus::kNotFound;
    result.reason = fmt::format("{}: no MX and no A/AAAA records", lookup.domain);
  }
  finish(lookup_id, std::move(result));
}

void MxResolver::finish(uint64_t lookup_id, MxResult result) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end()) return;
  Callback done = std::move(it->second->done);
  for (uint64_t query : it->second->client_queries) client_->cancel(query);
  lookups_.erase(it);
  if (done) done(std::move(result));  // last: the callback may destroy the resolver
}

}  // namespace postern
