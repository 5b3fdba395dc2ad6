// The result of one delivery attempt inside postern-local (a mailbox, a file, a command, a
// forward), and how it travels from a delivery child (running as the recipient) back to the
// parent: one short text line on a pipe. The child is the recipient's process, so the parent
// trusts nothing in that line beyond its shape: kind letter, 3-part DSN, printable reason cut to
// kMaxOutcomeReasonBytes; anything else reads as "deferred: bad result from the child".
#pragma once

#include <string>
#include <string_view>

namespace postern::local {

inline constexpr size_t kMaxOutcomeReasonBytes = 300;

struct DeliveryOutcome {
  enum class Kind { kSent, kDeferred, kBounced };
  Kind kind = Kind::kDeferred;
  std::string dsn = "4.3.0";
  std::string reason;

  static DeliveryOutcome sent(std::string reason) {
    return {Kind::kSent, "2.0.0", std::move(reason)};
  }
  static DeliveryOutcome deferred(std::string dsn, std::string reason) {
    return {Kind::kDeferred, std::move(dsn), std::move(reason)};
  }
  static DeliveryOutcome bounced(std::string dsn, std::string reason) {
    return {Kind::kBounced, std::move(dsn), std::move(reason)};
  }
};

// "sent" / "deferred" / "bounced", as qmgr reads them.
std::string_view status_word(DeliveryOutcome::Kind kind);
// Deferred beats bounced beats sent: one recipient's result when it had several deliveries.
const DeliveryOutcome& worse_of(const DeliveryOutcome& a, const DeliveryOutcome& b);

std::string encode_outcome(const DeliveryOutcome& outcome);
DeliveryOutcome decode_outcome(std::string_view line);

}  // namespace postern::local
