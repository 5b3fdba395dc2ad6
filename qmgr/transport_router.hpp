// Routing decisions of postern-qmgr: where one pending recipient goes. transport_maps first
// (Postfix transport(5) order: the full address, then the domain, then each parent domain as
// ".example.com", then "*"), then our accounts (local mailbox, unknown user, an alias), then
// mydestination (system users: postern-local), and for every other domain the relay with
// relayhost as next hop, or the recipient's domain (MX).
// Runs in postern-qmgr. Trusts the admin's tables (transport_maps, accounts) but not their
// shape: an unknown transport or a malformed value defers the recipient with a reason instead
// of guessing. Addresses come from queue files (checked by smtpd, still treated as text).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "lib/base/result.hpp"

namespace postern {

// One table lookup: the value for key, nullopt when the key is absent, an error when the table
// cannot be read (then the recipient waits a short while).
using TransportLookup = std::function<Result<std::optional<std::string>>(std::string_view key)>;

struct Route {
  enum class Kind { kDelivery, kRelay, kLocal, kBounce, kDefer, kExpand };
  Kind kind = Kind::kDefer;
  std::vector<std::string> mailboxes;  // kDelivery: the resolved local mailboxes;
                                       // kExpand: every target (mailboxes, then outside ones)
  std::string relay_rcpt;              // kRelay: the address relay sends RCPT TO for;
                                       // kLocal: the address postern-local delivers
  std::string nexthop;                 // kRelay: "[host]:port", "host", a domain...
  std::string dsn;                     // kBounce / kDefer
  std::string reason;                  // kBounce / kDefer
  bool short_retry = false;            // kDefer: a passing failure (lookup error)
};

// A transport_maps value, "transport:nexthop".
struct TransportEntry {
  enum class Kind { kDelivery, kRelay, kError, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string nexthop;  // kRelay: may be empty (= the default next hop)
  std::string text;     // kError: the text after "error:"; kUnknown: the transport name
};

// "relay:[h]:25", "smtp:h", "relay:", "local:", "delivery:", "error:5.1.1 gone", ...
TransportEntry parse_transport_entry(std::string_view value);

// The keys tried for an address, in order: "user@a.b.c", "a.b.c", ".b.c", ".c", "*".
// Lower-case; a missing domain yields only the full address and "*".
std::vector<std::string> transport_lookup_keys(std::string_view address);

struct RouterSettings {
  std::string relayhost;            // "" = direct delivery to each domain's MX
  std::string recipient_delimiter;  // for the accounts lookup
  // mydestination, lower-cased: domains of the local system users (postern-local), unless the
  // accounts file has the same domain (then its virtual mailboxes win).
  std::vector<std::string> mydestination;
  // True for an alias domain whose forwards we ARC-seal (arc_sealing, a key for it): a plain
  // forward to one outside address then becomes a new queue file too (kExpand), since the seal
  // is put on a copy when it is written. Empty: plain forwards are relayed as they are.
  std::function<bool(std::string_view domain)> seals_forwards_for;
};

class Router {
 public:
  // lookup may be empty (no transport_maps); accounts must outlive the router.
  Router(RouterSettings settings, const AccountsDb& accounts, TransportLookup lookup);

  Route route(std::string_view address) const;
  // A recipient of an expansion file (lib/queue/expansion_file.hpp): already the result of an alias
  // expansion, so never expanded again. Ours: delivered to that mailbox; else as route_remote.
  Route route_final(std::string_view address) const;

  // The first transport_maps entry for an address (in transport_lookup_keys order).
  Result<std::optional<TransportEntry>> find_transport(std::string_view address) const;

 private:
  Route relay_route(std::string_view address, std::string_view nexthop) const;
  bool is_local_domain(std::string_view address) const;
  Route route_remote(std::string_view address) const;
  std::string default_nexthop(std::string_view address) const;

  RouterSettings settings_;
  const AccountsDb& accounts_;
  TransportLookup lookup_;
};

// Relay recipients grouped by next hop: one relay request per group, recipient indexes kept in
// order. Next hops compare case-insensitively (they are host names).
std::map<std::string, std::vector<size_t>> group_by_nexthop(
    const std::vector<std::pair<size_t, std::string>>& index_and_nexthop);

}  // namespace postern
