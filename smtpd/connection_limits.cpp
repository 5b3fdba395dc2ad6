// Per-address connection counting for postern-smtpd (see connection_limits.hpp). Entries are
// erased when their count drops to zero, so the map never outgrows the open connections.
#include "smtpd/connection_limits.hpp"

namespace postern::smtpd {

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    if (limits_ != nullptr) limits_->release(address_);
    limits_ = std::exchange(other.limits_, nullptr);
    address_ = other.address_;
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() {
  if (limits_ != nullptr) limits_->release(address_);
}

std::pair<bool, ConnectionSlot> ConnectionLimits::acquire(const IpBytes& address) {
  int& count = counts_[address];
  if (count >= per_address_limit_) {
    if (count == 0) counts_.erase(address);
    return {false, ConnectionSlot()};
  }
  ++count;
  return {true, ConnectionSlot(this, address)};
}

int ConnectionLimits::count(const IpBytes& address) const {
  auto it = counts_.find(address);
  return it == counts_.end() ? 0 : it->second;
}

void ConnectionLimits::release(const IpBytes& address) {
  auto it = counts_.find(address);
  if (it == counts_.end()) return;
  if (--it->second <= 0) counts_.erase(it);
}

}  // namespace postern::smtpd
