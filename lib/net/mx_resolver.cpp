// MX lookup for relay over UDP DNS on libevent (see mx_resolver.hpp). Trusts the configured
// resolver address only to the point of reading its answers through lib/net/dns_message's bounded
// parser; everything in an answer is checked (ID, question, owner names, counts).
#include "lib/net/mx_resolver.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <set>

#include "lib/base/ascii.hpp"
#include "lib/net/dns_message.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {

namespace {

std::mt19937& rng() {
  static std::mt19937 generator{std::random_device{}()};
  return generator;
}

// Lower-cased, without the root's trailing dot.
std::string normalized_domain(std::string_view text) {
  std::string out = ascii_lowercase(text);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// Names the answer lets stand for qname: qname and the CNAME chain from it (bounded by the
// answer count, which dns_message bounds).
std::set<std::string> alias_names(const DnsMessage& message) {
  std::set<std::string> names{message.question_name};
  for (size_t round = 0; round < message.answers.size(); ++round) {
    bool grew = false;
    for (const DnsRecord& record : message.answers) {
      if (record.type == kDnsTypeCname && names.count(record.name) &&
          names.insert(record.target).second) {
        grew = true;
      }
    }
    if (!grew) break;
  }
  return names;
}

}  // namespace

struct MxResolver::Query {
  MxResolver* owner = nullptr;
  uint64_t lookup_id = 0;
  size_t host_index = 0;  // which MxHost the addresses are for (address phase)
  std::string name;
  uint16_t type = 0;
  uint16_t dns_id = 0;
  std::string packet;
  UniqueFd fd;
  SingleEventHandle ev;
  int attempts_left = 0;
  bool done = false;
  // The outcome, once done.
  bool failed = false;  // temporary failure (timeout, socket, SERVFAIL, malformed, truncated)
  std::string failure;
  std::string malformed;  // why the last datagram that did not parse was ignored
  // TCP fallback after a truncated UDP answer (RFC 1035 4.2.2, RFC 7766).
  bool tcp = false;
  std::string tcp_out;  // length-prefixed query still to send
  std::string tcp_in;   // length-prefixed answer read so far, at most 2 + 65535 bytes
  DnsMessage answer;
};

struct MxResolver::Lookup {
  uint64_t id = 0;
  std::string domain;
  Callback done;
  bool address_phase = false;
  bool from_mx = false;
  std::vector<MxHost> hosts;
  std::vector<std::unique_ptr<Query>> queries;
  size_t outstanding = 0;
};

Result<ResolverAddress> parse_resolver_address(std::string_view text) {
  ResolverAddress out;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Error::config("resolver address: missing ]");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Error::config("resolver address: junk after ]");
      port = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  out.host = std::string(host);
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, out.host.c_str(), buffer) == 1) {
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, out.host.c_str(), buffer) == 1) {
    out.family = AF_INET6;
  } else {
    return Error::config(fmt::format("resolver address {:?} is not a numeric address", text));
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Error::config("resolver address: bad port");
    }
    unsigned long value = std::stoul(std::string(port));
    if (value == 0 || value > 65535) return Error::config("resolver address: bad port");
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

namespace {

std::string resolv_conf_nameserver() {
  std::ifstream file("/etc/resolv.conf");
  std::string line;
  for (int count = 0; count < 1000 && std::getline(file, line); ++count) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, 10, "nameserver") != 0) continue;
    size_t value = line.find_first_not_of(" \t", start + 10);
    if (value == std::string::npos || value == start + 10) continue;
    size_t end = line.find_first_of(" \t#;", value);
    std::string address = line.substr(value, end == std::string::npos ? end : end - value);
    if (address.find(':') != std::string::npos) return "[" + address + "]";
    return address;
  }
  return "127.0.0.1";
}

}  // namespace

Result<std::unique_ptr<MxResolver>> MxResolver::create(event_base* base,
                                                       MxResolverOptions options) {
  if (options.timeout_ms <= 0 || options.attempts <= 0 || options.attempts > 10 ||
      options.max_mx_hosts == 0) {
    return Error::config("mx resolver: timeout, attempts and max_mx_hosts must be positive");
  }
  std::string address =
      options.resolver_address.empty() ? resolv_conf_nameserver() : options.resolver_address;
  Result<ResolverAddress> server = parse_resolver_address(address);
  if (!server) return server.error();
  return std::unique_ptr<MxResolver>(new MxResolver(base, std::move(options), *server));
}

MxResolver::MxResolver(event_base* base, MxResolverOptions options, ResolverAddress server)
    : base_(base), options_(std::move(options)), server_(std::move(server)) {}

MxResolver::~MxResolver() = default;

Result<uint64_t> MxResolver::resolve(std::string_view domain, Callback done) {
  if (Status checked = check_dns_name(domain); !checked) return checked.error();
  auto lookup = std::make_unique<Lookup>();
  lookup->id = next_lookup_id_++;
  lookup->domain = normalized_domain(domain);
  lookup->done = std::move(done);
  Lookup& ref = *lookup;
  lookups_.emplace(ref.id, std::move(lookup));
  start_query(ref, ref.domain, kDnsTypeMx, 0);
  return ref.id;
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
  start_address_phase(ref);
  return ref.id;
}

void MxResolver::cancel(uint64_t lookup_id) {
  lookups_.erase(lookup_id);
}

socklen_t MxResolver::server_socket_address(sockaddr_storage& address) const {
  address = sockaddr_storage{};
  if (server_.family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&address);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(server_.port);
    inet_pton(AF_INET, server_.host.c_str(), &sin->sin_addr);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(server_.port);
  inet_pton(AF_INET6, server_.host.c_str(), &sin6->sin6_addr);
  return sizeof(sockaddr_in6);
}

void MxResolver::start_query(Lookup& lookup, const std::string& name, uint16_t type,
                             size_t host_index) {
  auto query = std::make_unique<Query>();
  Query& q = *query;
  q.owner = this;
  q.lookup_id = lookup.id;
  q.host_index = host_index;
  q.name = name;
  q.type = type;
  q.dns_id = static_cast<uint16_t>(rng()() & 0xffff);
  q.attempts_left = options_.attempts;
  lookup.queries.push_back(std::move(query));
  ++lookup.outstanding;

  Result<std::string> packet = build_dns_query(q.dns_id, name, type, options_.edns_udp_bytes);
  if (packet) {
    q.packet = std::move(*packet);
    q.fd = UniqueFd(socket(server_.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  } else {
    q.failure = packet.error().message;
  }
  if (q.fd) {
    sockaddr_storage address{};
    socklen_t length = server_socket_address(address);
    // Connected: the kernel drops datagrams from anyone but the resolver.
    if (connect(q.fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
      q.failure = fmt::format("connect to resolver: {}", std::strerror(errno));
      q.fd.reset();
    }
  } else if (q.failure.empty()) {
    q.failure = fmt::format("socket: {}", std::strerror(errno));
  }
  if (!q.fd) {
    // Report the failure from the event loop, never from inside resolve().
    q.attempts_left = 0;
    q.ev.reset(event_new(base_, -1, 0, &MxResolver::on_event, &q));
    timeval now{0, 0};
    if (q.ev) event_add(q.ev.get(), &now);
    return;
  }
  q.ev.reset(event_new(base_, q.fd.get(), EV_READ | EV_PERSIST, &MxResolver::on_event, &q));
  timeval timeout{options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
  if (q.ev) event_add(q.ev.get(), &timeout);
  // A send error counts as a lost datagram: the timeout retries it.
  (void)send(q.fd.get(), q.packet.data(), q.packet.size(), 0);
  --q.attempts_left;
}

void MxResolver::on_event(evutil_socket_t fd, short what, void* arg) {
  Query& q = *static_cast<Query*>(arg);
  MxResolver& self = *q.owner;
  if (q.done) return;
  if (what & EV_TIMEOUT) {
    if (q.attempts_left > 0 && q.fd) {
      --q.attempts_left;
      (void)send(q.fd.get(), q.packet.data(), q.packet.size(), 0);
      timeval timeout{self.options_.timeout_ms / 1000, (self.options_.timeout_ms % 1000) * 1000};
      event_add(q.ev.get(), &timeout);
      return;
    }
    q.failed = true;
    if (q.failure.empty()) {
      q.failure = fmt::format("no answer from {} after {} attempts", self.server_.host,
                              self.options_.attempts);
      if (!q.malformed.empty()) q.failure += " (last datagram: " + q.malformed + ")";
    }
    self.query_done(q);
    return;
  }
  // Bounded: at most 16 datagrams per wakeup, each of at most the DNS message limit.
  for (int round = 0; round < 16; ++round) {
    std::string buffer(kMaxDnsMessageBytes, '\0');
    ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      // ECONNREFUSED (ICMP port unreachable) and the like: wait for the timeout and retry.
      return;
    }
    buffer.resize(static_cast<size_t>(n));
    Result<DnsMessage> message = parse_dns_message(buffer);
    if (!message) {
      // Anyone who guesses the port can send junk: ignore it, keep waiting, and name it if the
      // query times out.
      q.malformed = "malformed DNS answer: " + message.error().message;
      continue;
    }
    // Not ours (a late answer to an earlier ID, or spoofing): keep waiting.
    if (!message->response || message->id != q.dns_id || message->question_name != q.name ||
        message->question_type != q.type) {
      continue;
    }
    if (message->truncated) {
      self.start_tcp(q);  // frees the event we are called from: return at once
      return;
    }
    self.accept_answer(q, std::move(*message));
    return;
  }
}

void MxResolver::accept_answer(Query& q, DnsMessage message) {
  if (message.rcode != kDnsNoError && message.rcode != kDnsNxDomain) {
    q.failed = true;
    q.failure = fmt::format("DNS error rcode {}", message.rcode);
  }
  q.answer = std::move(message);
  query_done(q);
}

void MxResolver::fail_query(Query& q, std::string why) {
  q.failed = true;
  q.failure = std::move(why);
  query_done(q);
}

void MxResolver::start_tcp(Query& q) {
  q.tcp = true;
  q.ev.reset();
  q.fd = UniqueFd(socket(server_.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!q.fd) return fail_query(q, fmt::format("DNS over TCP: socket: {}", std::strerror(errno)));
  sockaddr_storage address{};
  socklen_t length = server_socket_address(address);
  if (connect(q.fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 &&
      errno != EINPROGRESS) {
    return fail_query(q, fmt::format("DNS over TCP: {}", std::strerror(errno)));
  }
  // RFC 1035 4.2.2: each message is preceded by its two-byte length.
  q.tcp_out = std::string{static_cast<char>(q.packet.size() >> 8),
                          static_cast<char>(q.packet.size() & 0xff)} +
              q.packet;
  q.tcp_in.clear();
  q.ev.reset(
      event_new(base_, q.fd.get(), EV_WRITE | EV_READ | EV_PERSIST, &MxResolver::on_tcp_event, &q));
  // One attempt over TCP, bounded by the same per-attempt timeout.
  timeval timeout{options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
  if (!q.ev || event_add(q.ev.get(), &timeout) != 0) {
    return fail_query(q, "DNS over TCP: cannot add event");
  }
}

void MxResolver::on_tcp_event(evutil_socket_t fd, short what, void* arg) {
  Query& q = *static_cast<Query*>(arg);
  MxResolver& self = *q.owner;
  if (q.done) return;
  if (what & EV_TIMEOUT) {
    return self.fail_query(q, fmt::format("no answer over TCP from {}", self.server_.host));
  }
  if ((what & EV_WRITE) && !q.tcp_out.empty()) {
    ssize_t n = send(fd, q.tcp_out.data(), q.tcp_out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return self.fail_query(q, fmt::format("DNS over TCP: {}", std::strerror(errno)));
    }
    q.tcp_out.erase(0, static_cast<size_t>(n));
    if (q.tcp_out.empty()) {
      // All sent: from now on only reading (this frees the event we are called from).
      q.ev.reset(event_new(self.base_, fd, EV_READ | EV_PERSIST, &MxResolver::on_tcp_event, &q));
      timeval timeout{self.options_.timeout_ms / 1000, (self.options_.timeout_ms % 1000) * 1000};
      if (!q.ev || event_add(q.ev.get(), &timeout) != 0) {
        return self.fail_query(q, "DNS over TCP: cannot add event");
      }
    }
    return;
  }
  if (!(what & EV_READ)) return;
  char buffer[4096];
  // Never more than the length prefix and the largest message.
  size_t room = 2 + kMaxDnsMessageBytes - q.tcp_in.size();
  ssize_t n = recv(fd, buffer, std::min(sizeof(buffer), room), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return self.fail_query(q, fmt::format("DNS over TCP: {}", std::strerror(errno)));
  }
  if (n == 0) return self.fail_query(q, "DNS over TCP: connection closed before the answer");
  q.tcp_in.append(buffer, static_cast<size_t>(n));
  if (q.tcp_in.size() < 2) return;
  size_t length = (static_cast<size_t>(static_cast<uint8_t>(q.tcp_in[0])) << 8) |
                  static_cast<uint8_t>(q.tcp_in[1]);
  if (q.tcp_in.size() < 2 + length) return;
  Result<DnsMessage> message = parse_dns_message(std::string_view(q.tcp_in).substr(2, length));
  if (!message) return self.fail_query(q, "malformed DNS answer: " + message.error().message);
  if (!message->response || message->id != q.dns_id || message->question_name != q.name ||
      message->question_type != q.type) {
    return self.fail_query(q, "DNS answer over TCP does not match the question");
  }
  self.accept_answer(q, std::move(*message));
}

void MxResolver::query_done(Query& query) {
  query.done = true;
  if (query.ev) event_del(query.ev.get());
  query.fd.reset();
  auto it = lookups_.find(query.lookup_id);
  if (it == lookups_.end()) return;
  Lookup& lookup = *it->second;
  --lookup.outstanding;
  if (!lookup.address_phase) {
    on_mx_answer(lookup, query);  // may finish (and destroy) the lookup
    return;
  }
  if (!query.failed) {
    std::set<std::string> names = alias_names(query.answer);
    MxHost& host = lookup.hosts[query.host_index];
    for (const DnsRecord& record : query.answer.answers) {
      if (record.type == query.type && names.count(record.name) && !record.address.empty() &&
          std::find(host.addresses.begin(), host.addresses.end(), record.address) ==
              host.addresses.end()) {
        host.addresses.push_back(record.address);
      }
    }
  }
  finish_if_done(lookup.id);
}

void MxResolver::on_mx_answer(Lookup& lookup, Query& query) {
  if (query.failed) {
    finish(lookup.id, MxResult{MxStatus::kTemporary, false, {}, query.failure});
    return;
  }
  if (query.answer.rcode == kDnsNxDomain) {
    finish(
        lookup.id,
        MxResult{MxStatus::kNotFound, false, {}, fmt::format("{}: no such domain", lookup.domain)});
    return;
  }
  std::set<std::string> names = alias_names(query.answer);
  std::vector<MxHost> hosts;
  bool null_mx = false;
  for (const DnsRecord& record : query.answer.answers) {
    if (record.type != kDnsTypeMx || !names.count(record.name)) continue;
    if (record.target.empty()) {  // "." exchange: RFC 7505
      null_mx = true;
      continue;
    }
    bool seen = std::any_of(hosts.begin(), hosts.end(),
                            [&](const MxHost& h) { return h.host == record.target; });
    if (!seen) hosts.push_back(MxHost{record.preference, record.target, {}});
  }
  if (null_mx && hosts.empty()) {
    finish(lookup.id,
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
    std::shuffle(hosts.begin(), hosts.end(), rng());
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    if (hosts.size() > options_.max_mx_hosts) hosts.resize(options_.max_mx_hosts);
  }
  lookup.hosts = std::move(hosts);
  start_address_phase(lookup);
}

void MxResolver::start_address_phase(Lookup& lookup) {
  lookup.address_phase = true;
  for (size_t i = 0; i < lookup.hosts.size(); ++i) {
    std::string host = lookup.hosts[i].host;
    start_query(lookup, host, kDnsTypeA, i);
    if (options_.want_ipv6) start_query(lookup, host, kDnsTypeAaaa, i);
  }
}

void MxResolver::finish_if_done(uint64_t lookup_id) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end() || it->second->outstanding > 0) return;
  Lookup& lookup = *it->second;
  // A before AAAA per host: order each host's addresses by the query that found them.
  MxResult result;
  result.from_mx = lookup.from_mx;
  std::string temporary;
  for (const auto& query : lookup.queries) {
    if (query->failed && temporary.empty()) temporary = query->name + ": " + query->failure;
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
  lookups_.erase(it);  // frees the queries; we may be inside one's event callback (allowed)
  if (done) done(std::move(result));  // last: the callback may destroy the resolver
}

}  // namespace postern
