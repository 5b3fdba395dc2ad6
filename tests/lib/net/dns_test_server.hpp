// A small authoritative DNS server for the lib/net DNS tests (dns_client_test,
// dns_lookup_session_test): UDP and TCP on one free port of 127.0.0.1, served from its own
// thread (a DnsLookupSession runs its loop inside lookup(), so the server cannot share it).
// It answers from a zone the test fills in, and can also answer SERVFAIL, stay silent, flood the
// querier with junk datagrams, truncate over UDP, or hold its UDP replies until several queries
// have arrived and then send them in reverse order. It records every query it saw (name, type, UDP
// or TCP, the EDNS(0) size offered). Answers are built by hand here, so the client's parser is
// tested against bytes it did not produce. Only loopback is used; the thread is joined in the
// destructor.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::testing {

inline std::string dns_u16(uint16_t v) {
  return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

inline std::string dns_wire_name(const std::string& dotted) {
  std::string out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out += static_cast<char>(dot - start);
    out += dotted.substr(start, dot - start);
    start = dot + 1;
  }
  return out + '\0';
}

// One resource record, owner written out in full (no compression), class IN.
inline std::string dns_rr(const std::string& owner, uint16_t type, uint32_t ttl,
                          const std::string& data) {
  return dns_wire_name(owner) + dns_u16(type) + dns_u16(1) + dns_u16(ttl >> 16) +
         dns_u16(ttl & 0xffff) + dns_u16(static_cast<uint16_t>(data.size())) + data;
}

inline std::string dns_txt_data(std::initializer_list<std::string> strings) {
  std::string out;
  for (const std::string& piece : strings) out += static_cast<char>(piece.size()) + piece;
  return out;
}

inline std::string dns_a_data(const char* text) {
  in_addr address{};
  inet_pton(AF_INET, text, &address);
  return std::string(reinterpret_cast<const char*>(&address), 4);
}

class DnsTestServer {
 public:
  struct Reply {
    int rcode = 0;
    std::vector<std::string> records;  // dns_rr() each
    bool silent = false;               // never answers (over UDP or TCP)
    bool force_truncation = false;     // over UDP: TC and no records, whatever the size
    // Instead of answering, sends the querier a junk datagram every kBabbleIntervalMs for
    // kBabbleMs (an off-path flood that must not keep the query alive).
    bool babble = false;
  };
  static constexpr int kBabbleIntervalMs = 10;
  static constexpr int kBabbleMs = 3000;
  struct Seen {
    std::string name;  // lower-cased
    uint16_t type = 0;
    bool tcp = false;
    uint16_t edns_udp_bytes = 0;  // 0: no OPT record
  };

  DnsTestServer() = default;
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;
  ~DnsTestServer() { stop(); }

  // name/type answer with reply. A name with replies for other types only gets NODATA for the
  // rest; a name never added gets NXDOMAIN.
  void add(const std::string& name, uint16_t type, Reply reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    zone_[{ascii_lowercase(name), type}] = std::move(reply);
  }
  // UDP replies wait until this many have been made, then go out last first.
  void hold_until(size_t queries) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_until_ = queries;
  }

  // Binds UDP and TCP on one free port (a few tries, in case another process takes the TCP
  // side of the port UDP got) and starts the thread.
  bool start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (bind_both()) {
        int pipe_fds[2];
        if (pipe2(pipe_fds, O_CLOEXEC) != 0) return false;
        stop_read_ = UniqueFd(pipe_fds[0]);
        stop_write_ = UniqueFd(pipe_fds[1]);
        thread_ = std::thread([this] { run(); });
        return true;
      }
    }
    return false;
  }

  void stop() {
    if (!thread_.joinable()) return;
    char byte = 0;
    (void)write(stop_write_.get(), &byte, 1);
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  struct Held {
    std::string bytes;
    sockaddr_storage peer{};
    socklen_t peer_length = 0;
  };
  struct Babbler {
    sockaddr_storage peer{};
    socklen_t peer_length = 0;
    std::chrono::steady_clock::time_point next, until;
  };

  bool bind_both() {
    udp_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    tcp_ = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!udp_ || !tcp_) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(udp_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return false;
    }
    socklen_t length = sizeof(address);
    getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    int one = 1;
    setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(tcp_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(tcp_.get(), 16) != 0) {
      return false;
    }
    return true;
  }

  void run() {
    while (true) {
      pollfd fds[3] = {
          {udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      if (poll(fds, 3, babblers_.empty() ? -1 : kBabbleIntervalMs) < 0) continue;
      if (fds[2].revents) return;
      if (fds[0].revents & POLLIN) serve_udp();
      if (fds[1].revents & POLLIN) serve_tcp();
      send_junk();
    }
  }

  void send_junk() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = babblers_.begin(); it != babblers_.end();) {
      if (now >= it->until) {
        it = babblers_.erase(it);
        continue;
      }
      if (now >= it->next) {
        sendto(udp_.get(), "zzz", 3, 0, reinterpret_cast<sockaddr*>(&it->peer), it->peer_length);
        it->next = now + std::chrono::milliseconds(kBabbleIntervalMs);
      }
      ++it;
    }
  }

  void serve_udp() {
    char buffer[65536];
    Held held;
    held.peer_length = sizeof(held.peer);
    ssize_t n = recvfrom(udp_.get(), buffer, sizeof(buffer), 0,
                         reinterpret_cast<sockaddr*>(&held.peer), &held.peer_length);
    if (n <= 0) return;
    bool babble = false;
    if (!respond(std::string(buffer, static_cast<size_t>(n)), false, held.bytes, &babble)) {
      if (babble) {
        auto now = std::chrono::steady_clock::now();
        babblers_.push_back(
            Babbler{held.peer, held.peer_length, now, now + std::chrono::milliseconds(kBabbleMs)});
      }
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    held_.push_back(std::move(held));
    if (held_.size() < hold_until_) return;
    hold_until_ = 0;
    for (auto it = held_.rbegin(); it != held_.rend(); ++it) {
      sendto(udp_.get(), it->bytes.data(), it->bytes.size(), 0,
             reinterpret_cast<sockaddr*>(&it->peer), it->peer_length);
    }
    held_.clear();
  }

  void serve_tcp() {
    UniqueFd connection(accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) return;
    timeval timeout{2, 0};
    setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string in;
    char buffer[4096];
    while (true) {
      if (in.size() >= 2) {
        size_t length =
            (static_cast<size_t>(static_cast<uint8_t>(in[0])) << 8) | static_cast<uint8_t>(in[1]);
        if (in.size() >= 2 + length) {
          in = in.substr(2, length);
          break;
        }
      }
      ssize_t n = recv(connection.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) return;
      in.append(buffer, static_cast<size_t>(n));
    }
    std::string reply;
    if (!respond(in, true, reply)) return;
    reply = dns_u16(static_cast<uint16_t>(reply.size())) + reply;
    (void)send(connection.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  // Builds the reply to one query; false when there is to be none.
  bool respond(const std::string& query, bool tcp, std::string& out, bool* babble = nullptr) {
    if (query.size() < 12) return false;
    size_t end = 12;  // the question: its labels, then type and class
    std::string name;
    while (end < query.size() && query[end] != 0) {
      size_t length = static_cast<uint8_t>(query[end]);
      if (end + 1 + length > query.size()) return false;
      if (!name.empty()) name += '.';
      name += ascii_lowercase(query.substr(end + 1, length));
      end += 1 + length;
    }
    if (end + 5 > query.size()) return false;
    uint16_t type = static_cast<uint16_t>((static_cast<uint8_t>(query[end + 1]) << 8) |
                                          static_cast<uint8_t>(query[end + 2]));
    std::string question = query.substr(12, end + 5 - 12);
    Seen seen{name, type, tcp, 0};
    size_t opt = end + 5;
    if (query[11] == 1 && opt + 5 <= query.size() && query[opt] == 0 &&
        query.substr(opt + 1, 2) == dns_u16(41)) {
      seen.edns_udp_bytes = static_cast<uint16_t>((static_cast<uint8_t>(query[opt + 3]) << 8) |
                                                  static_cast<uint8_t>(query[opt + 4]));
    }
    Reply reply;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen_.push_back(seen);
      auto it = zone_.find({name, type});
      if (it != zone_.end()) {
        reply = it->second;
      } else {
        bool name_exists = std::any_of(zone_.begin(), zone_.end(), [&](const auto& entry) {
          return entry.first.first == name;
        });
        reply.rcode = name_exists ? 0 : 3;
      }
    }
    if (babble != nullptr) *babble = reply.babble;
    if (reply.silent || reply.babble) return false;
    std::string records;
    for (const std::string& record : reply.records) records += record;
    uint16_t flags = static_cast<uint16_t>(0x8400 | 0x0100 | 0x0080 | reply.rcode);  // QR AA RD RA
    size_t udp_limit = std::max<size_t>(512, seen.edns_udp_bytes);
    uint16_t answers = static_cast<uint16_t>(reply.records.size());
    if (!tcp && (reply.force_truncation || 12 + question.size() + records.size() > udp_limit)) {
      flags |= 0x0200;  // TC: ask again over TCP
      records.clear();
      answers = 0;
    }
    out = query.substr(0, 2) + dns_u16(flags) + dns_u16(1) + dns_u16(answers) + dns_u16(0) +
          dns_u16(0) + question + records;
    return true;
  }

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, uint16_t>, Reply> zone_;
  std::vector<Seen> seen_;
  std::vector<Held> held_;
  std::vector<Babbler> babblers_;  // the server thread's only
  size_t hold_until_ = 0;
  UniqueFd udp_, tcp_, stop_read_, stop_write_;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace postern::testing
