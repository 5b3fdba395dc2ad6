// DNS queries over UDP, with the TCP retry, on libevent (see dns_client.hpp). Trusts the
// configured resolver address only to the point of reading its answers through
// lib/net/dns_message's bounded parser; everything in an answer is checked (ID, question, owner
// names, counts, the CNAME chain) before it is used.
#include "lib/net/dns_client.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "lib/base/ascii.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {

namespace {

// Lines of /etc/resolv.conf read looking for a nameserver.
constexpr int kMaxResolvConfLines = 1000;

// Lower-cased, without the root's trailing dot.
std::string normalized_name(std::string_view text) {
  std::string out = ascii_lowercase(text);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string resolv_conf_nameserver() {
  std::ifstream file("/etc/resolv.conf");
  std::string line;
  for (int count = 0; count < kMaxResolvConfLines && std::getline(file, line); ++count) {
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

struct DnsClient::Query {
  DnsClient* owner = nullptr;
  uint64_t id = 0;
  std::string name;
  uint16_t type = 0;
  uint16_t dns_id = 0;
  std::string packet;
  Callback done;
  UniqueFd fd;
  SingleEventHandle ev;
  int attempts_left = 0;
  // When the current attempt ends. libevent restarts a persistent event's timeout each time the
  // event fires, so a flood of junk datagrams would keep the attempt alive: on_datagrams checks
  // this itself.
  std::chrono::steady_clock::time_point attempt_deadline;
  std::string setup_failure;  // the socket could not be opened: reported from the loop
  std::string malformed;      // why the last datagram that did not parse was ignored
  // TCP retry after a truncated UDP answer (RFC 1035 4.2.2, RFC 7766).
  bool tcp = false;
  std::string tcp_out;  // length-prefixed query still to send
  std::string tcp_in;   // length-prefixed answer read so far, at most 2 + 65535 bytes
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

Result<std::unique_ptr<DnsClient>> DnsClient::create(event_base* base, DnsClientOptions options) {
  if (options.timeout_ms <= 0 || options.attempts <= 0 || options.attempts > kMaxDnsAttempts) {
    return Error::config(fmt::format(
        "dns client: the timeout must be positive and attempts between 1 and {}", kMaxDnsAttempts));
  }
  std::string address =
      options.resolver_address.empty() ? resolv_conf_nameserver() : options.resolver_address;
  Result<ResolverAddress> server = parse_resolver_address(address);
  if (!server) return server.error();
  return std::unique_ptr<DnsClient>(new DnsClient(base, std::move(options), *server));
}

DnsClient::DnsClient(event_base* base, DnsClientOptions options, ResolverAddress server)
    : base_(base),
      options_(std::move(options)),
      server_(std::move(server)),
      random_ids_(std::random_device{}()) {}

DnsClient::~DnsClient() = default;

socklen_t DnsClient::server_socket_address(sockaddr_storage& address) const {
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

timeval DnsClient::attempt_timeout() const {
  return timeval{options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
}

Result<uint64_t> DnsClient::query(std::string_view name, uint16_t type, Callback done) {
  if (Status checked = check_dns_name(name); !checked) return checked.error();
  auto owned = std::make_unique<Query>();
  Query& q = *owned;
  q.owner = this;
  q.id = next_query_id_++;
  q.name = normalized_name(name);
  q.type = type;
  q.dns_id = static_cast<uint16_t>(random_ids_() & 0xffff);
  q.done = std::move(done);
  q.attempts_left = options_.attempts;
  Result<std::string> packet = build_dns_query(q.dns_id, q.name, type, options_.edns_udp_bytes);
  if (!packet) return packet.error();
  q.packet = std::move(*packet);

  q.fd = UniqueFd(socket(server_.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!q.fd) {
    q.setup_failure = fmt::format("socket: {}", std::strerror(errno));
  } else {
    sockaddr_storage address{};
    socklen_t length = server_socket_address(address);
    // Connected: the kernel drops datagrams from anyone but the resolver.
    if (connect(q.fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0) {
      q.setup_failure = fmt::format("connect to resolver: {}", std::strerror(errno));
      q.fd.reset();
    }
  }
  if (!q.fd) {
    // Report the failure from the event loop, never from inside query().
    q.attempts_left = 0;
    q.ev.reset(event_new(base_, -1, 0, &DnsClient::on_event, &q));
    timeval now{0, 0};
    if (!q.ev || event_add(q.ev.get(), &now) != 0) return Error::system("dns client: event");
  } else {
    q.ev.reset(event_new(base_, q.fd.get(), EV_READ | EV_PERSIST, &DnsClient::on_event, &q));
    timeval timeout = attempt_timeout();
    if (!q.ev || event_add(q.ev.get(), &timeout) != 0) return Error::system("dns client: event");
    // A send error counts as a lost datagram: the timeout retries it.
    (void)send(q.fd.get(), q.packet.data(), q.packet.size(), 0);
    --q.attempts_left;
    q.attempt_deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  }
  uint64_t id = q.id;
  queries_.emplace(id, std::move(owned));
  return id;
}

void DnsClient::cancel(uint64_t query_id) {
  queries_.erase(query_id);
}

void DnsClient::on_event(evutil_socket_t, short what, void* arg) {
  Query& q = *static_cast<Query*>(arg);
  if (what & EV_TIMEOUT) {
    q.owner->on_udp_timeout(q);
  } else {
    q.owner->on_datagrams(q);
  }
}

void DnsClient::on_udp_timeout(Query& q) {
  if (!q.fd) return fail(q, DnsClientOutcome::kNetworkError, q.setup_failure);
  if (q.attempts_left > 0) {
    --q.attempts_left;
    (void)send(q.fd.get(), q.packet.data(), q.packet.size(), 0);
    timeval timeout = attempt_timeout();
    event_add(q.ev.get(), &timeout);
    q.attempt_deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    return;
  }
  std::string why =
      fmt::format("no answer from {} after {} attempts", server_.host, options_.attempts);
  if (!q.malformed.empty()) why += " (last datagram: " + q.malformed + ")";
  fail(q, DnsClientOutcome::kTimeout, std::move(why));
}

void DnsClient::on_datagrams(Query& q) {
  std::string buffer(kMaxDnsMessageBytes, '\0');
  for (int round = 0; round < kMaxDnsDatagramsPerWakeup; ++round) {
    ssize_t n = recv(q.fd.get(), buffer.data(), buffer.size(), 0);
    // EAGAIN: read everything. ECONNREFUSED (ICMP port unreachable) and the like: wait for the
    // timeout and retry.
    if (n < 0) break;
    Result<DnsMessage> message =
        parse_dns_message(std::string_view(buffer.data(), static_cast<size_t>(n)));
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
    if (message->truncated) return start_tcp(q);  // frees the event we are called from
    return accept_message(q, std::move(*message));
  }
  // Only datagrams that were not the answer: the attempt ends on time all the same.
  if (std::chrono::steady_clock::now() >= q.attempt_deadline) on_udp_timeout(q);
}

void DnsClient::start_tcp(Query& q) {
  q.tcp = true;
  q.ev.reset();
  q.fd = UniqueFd(socket(server_.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!q.fd) {
    return fail(q, DnsClientOutcome::kNetworkError,
                fmt::format("DNS over TCP: socket: {}", std::strerror(errno)));
  }
  sockaddr_storage address{};
  socklen_t length = server_socket_address(address);
  if (connect(q.fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 &&
      errno != EINPROGRESS) {
    return fail(q, DnsClientOutcome::kNetworkError,
                fmt::format("DNS over TCP: {}", std::strerror(errno)));
  }
  // RFC 1035 4.2.2: each message is preceded by its two-byte length.
  q.tcp_out = std::string{static_cast<char>(q.packet.size() >> 8),
                          static_cast<char>(q.packet.size() & 0xff)} +
              q.packet;
  q.tcp_in.clear();
  q.attempt_deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  q.ev.reset(
      event_new(base_, q.fd.get(), EV_WRITE | EV_READ | EV_PERSIST, &DnsClient::on_tcp_event, &q));
  // One attempt over TCP, bounded by the same per-attempt timeout.
  timeval timeout = attempt_timeout();
  if (!q.ev || event_add(q.ev.get(), &timeout) != 0) {
    return fail(q, DnsClientOutcome::kNetworkError, "DNS over TCP: cannot add event");
  }
}

void DnsClient::on_tcp_event(evutil_socket_t, short what, void* arg) {
  Query& q = *static_cast<Query*>(arg);
  q.owner->on_tcp(q, what);
}

void DnsClient::on_tcp(Query& q, short what) {
  if (what & EV_TIMEOUT) {
    return fail(q, DnsClientOutcome::kTimeout,
                fmt::format("no answer over TCP from {}", server_.host));
  }
  if ((what & EV_WRITE) && !q.tcp_out.empty()) {
    ssize_t n = send(q.fd.get(), q.tcp_out.data(), q.tcp_out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return fail(q, DnsClientOutcome::kNetworkError,
                  fmt::format("DNS over TCP: {}", std::strerror(errno)));
    }
    q.tcp_out.erase(0, static_cast<size_t>(n));
    if (q.tcp_out.empty()) {
      // All sent: from now on only reading (this frees the event we are called from).
      q.ev.reset(event_new(base_, q.fd.get(), EV_READ | EV_PERSIST, &DnsClient::on_tcp_event, &q));
      timeval timeout = attempt_timeout();
      if (!q.ev || event_add(q.ev.get(), &timeout) != 0) {
        return fail(q, DnsClientOutcome::kNetworkError, "DNS over TCP: cannot add event");
      }
    }
    return;
  }
  if (!(what & EV_READ)) return;
  char buffer[4096];
  // Never more than the length prefix and the largest message.
  size_t room = 2 + kMaxDnsMessageBytes - q.tcp_in.size();
  ssize_t n = recv(q.fd.get(), buffer, std::min(sizeof(buffer), room), 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return fail(q, DnsClientOutcome::kNetworkError,
                fmt::format("DNS over TCP: {}", std::strerror(errno)));
  }
  if (n == 0) {
    return fail(q, DnsClientOutcome::kNetworkError,
                "DNS over TCP: connection closed before the answer");
  }
  q.tcp_in.append(buffer, static_cast<size_t>(n));
  size_t length = q.tcp_in.size() < 2
                      ? kMaxDnsMessageBytes
                      : (static_cast<size_t>(static_cast<uint8_t>(q.tcp_in[0])) << 8) |
                            static_cast<uint8_t>(q.tcp_in[1]);
  if (q.tcp_in.size() < 2 + length) {
    // A server that drips the answer a byte at a time restarts the event's timeout each time;
    // the one TCP attempt still ends on time.
    if (std::chrono::steady_clock::now() >= q.attempt_deadline) {
      return fail(q, DnsClientOutcome::kTimeout,
                  fmt::format("no answer over TCP from {}", server_.host));
    }
    return;
  }
  Result<DnsMessage> message = parse_dns_message(std::string_view(q.tcp_in).substr(2, length));
  if (!message) {
    return fail(q, DnsClientOutcome::kMalformed,
                "malformed DNS answer: " + message.error().message);
  }
  if (!message->response || message->id != q.dns_id || message->question_name != q.name ||
      message->question_type != q.type) {
    return fail(q, DnsClientOutcome::kMalformed, "DNS answer over TCP does not match the question");
  }
  accept_message(q, std::move(*message));
}

void DnsClient::accept_message(Query& q, DnsMessage message) {
  Result<DnsAnswerSet> selected = select_dns_answer(message);
  if (!selected) {
    return fail(q, DnsClientOutcome::kMalformed,
                "malformed DNS answer: " + selected.error().message);
  }
  DnsClientAnswer answer;
  answer.rcode = message.rcode;
  answer.answer = std::move(*selected);
  switch (answer.answer.kind) {
    case DnsAnswerKind::kRecords:
    case DnsAnswerKind::kNoData:
      answer.outcome = DnsClientOutcome::kAnswer;
      break;
    case DnsAnswerKind::kNxDomain:
      answer.outcome = DnsClientOutcome::kNxDomain;
      break;
    case DnsAnswerKind::kServerError:
      answer.outcome = DnsClientOutcome::kServerError;
      answer.reason = fmt::format("DNS error rcode {}", message.rcode);
      break;
  }
  finish(q, std::move(answer));
}

void DnsClient::fail(Query& q, DnsClientOutcome outcome, std::string why) {
  DnsClientAnswer answer;
  answer.outcome = outcome;
  answer.reason = std::move(why);
  finish(q, std::move(answer));
}

void DnsClient::finish(Query& q, DnsClientAnswer answer) {
  answer.name = q.name;
  answer.type = q.type;
  answer.over_tcp = q.tcp;
  Callback done = std::move(q.done);
  // Frees the query, its socket and event; we may be inside that event's callback (allowed).
  queries_.erase(q.id);
  if (done) done(std::move(answer));  // last: the callback may destroy the client
}

}  // namespace postern
