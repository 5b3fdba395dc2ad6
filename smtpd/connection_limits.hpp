// Concurrent connections per client address (smtpd_client_connection_count_limit), counted
// within one postern-smtpd process (each copy the master starts counts its own clients; a
// shared counter across processes, like Postfix's anvil, is future work). The addresses come
// from accept(2); the table holds one entry per address with a live session, so it is bounded
// by the number of open connections.
#pragma once

#include <map>
#include <utility>

#include "lib/net/network_list.hpp"

namespace postern::smtpd {

class ConnectionLimits;

// One counted connection; releases its count when destroyed. Move-only.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ConnectionLimits* limits, const IpBytes& address)
      : limits_(limits), address_(address) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : limits_(std::exchange(other.limits_, nullptr)), address_(other.address_) {}
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot();

 private:
  ConnectionLimits* limits_ = nullptr;
  IpBytes address_{};
};

class ConnectionLimits {
 public:
  explicit ConnectionLimits(int per_address_limit) : per_address_limit_(per_address_limit) {}
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // Counts a new connection from address. The slot is empty (and nothing is counted) when the
  // address already has per_address_limit connections.
  std::pair<bool, ConnectionSlot> acquire(const IpBytes& address);
  int count(const IpBytes& address) const;

 private:
  friend class ConnectionSlot;
  void release(const IpBytes& address);
  int per_address_limit_;
  std::map<IpBytes, int> counts_;
};

}  // namespace postern::smtpd
