// Routing decisions of postern-qmgr (see transport_router.hpp). Pure decisions over two
// read-only tables; no I/O of its own besides the lookups, so tests/qmgr can check every branch.
#include "transport_router.hpp"

#include <algorithm>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

std::string lower(std::string_view text) {
  return ascii_lowercase(text);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

bool is_status_code(std::string_view text) {
  // "4.x.y" or "5.x.y": class, subject (1-3 digits), detail (1-3 digits).
  if (text.size() < 5 || (text[0] != '4' && text[0] != '5') || text[1] != '.') return false;
  size_t pos = 2;
  for (int part = 0; part < 2; ++part) {
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ++pos;
      ++digits;
    }
    if (digits == 0 || digits > 3) return false;
    if (part == 0) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
  }
  return pos == text.size();
}

}  // namespace

TransportEntry parse_transport_entry(std::string_view value) {
  value = trim(value);
  TransportEntry entry;
  size_t colon = value.find(':');
  std::string transport = lower(trim(value.substr(0, colon)));
  std::string_view rest =
      colon == std::string_view::npos ? std::string_view() : trim(value.substr(colon + 1));
  if (transport == "relay" || transport == "smtp") {
    entry.kind = TransportEntry::Kind::kRelay;
    entry.nexthop = std::string(rest);
  } else if (transport == "local" || transport == "delivery" || transport == "virtual") {
    entry.kind = TransportEntry::Kind::kDelivery;
  } else if (transport == "error") {
    entry.kind = TransportEntry::Kind::kError;
    entry.text = std::string(rest);
  } else {
    entry.kind = TransportEntry::Kind::kUnknown;
    entry.text = transport;
  }
  return entry;
}

std::vector<std::string> transport_lookup_keys(std::string_view address) {
  std::vector<std::string> keys;
  keys.push_back(lower(address));
  std::string domain = lower(domain_of(address));
  if (!domain.empty()) {
    keys.push_back(domain);
    for (size_t dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1)) {
      if (dot + 1 < domain.size()) keys.push_back(domain.substr(dot));
    }
  }
  keys.push_back("*");
  return keys;
}

Router::Router(RouterSettings settings, const AccountsDb& accounts, TransportLookup lookup)
    : settings_(std::move(settings)), accounts_(accounts), lookup_(std::move(lookup)) {}

Result<std::optional<TransportEntry>> Router::find_transport(std::string_view address) const {
  if (!lookup_) return std::optional<TransportEntry>();
  for (const std::string& key : transport_lookup_keys(address)) {
    Result<std::optional<std::string>> value = lookup_(key);
    if (!value) return value.error();
    if (*value) return std::optional<TransportEntry>(parse_transport_entry(**value));
  }
  return std::optional<TransportEntry>();
}

std::string Router::default_nexthop(std::string_view address) const {
  if (!settings_.relayhost.empty()) return settings_.relayhost;
  return lower(domain_of(address));
}

bool Router::is_local_domain(std::string_view address) const {
  const std::string domain = lower(domain_of(address));
  return std::find(settings_.mydestination.begin(), settings_.mydestination.end(), domain) !=
         settings_.mydestination.end();
}

// Without a next hop from transport_maps, a domain of mydestination goes to postern-local.
Route Router::relay_route(std::string_view address, std::string_view nexthop) const {
  Route route;
  if (nexthop.empty() && is_local_domain(address)) {
    route.kind = Route::Kind::kLocal;
    route.relay_rcpt = std::string(address);
    return route;
  }
  route.nexthop = nexthop.empty() ? default_nexthop(address) : std::string(nexthop);
  if (route.nexthop.empty()) {
    route.kind = Route::Kind::kBounce;
    route.dsn = "5.1.3";
    route.reason = "no domain in the recipient address and no relayhost";
    return route;
  }
  route.kind = Route::Kind::kRelay;
  route.relay_rcpt = std::string(address);
  return route;
}

// An error: entry: "error:5.1.1 text" keeps the given status; a bare text bounces 5.0.0, and a
// 4.x.y status defers (as Postfix's error(8) does).
static Route error_route(std::string_view text) {
  Route route;
  route.kind = Route::Kind::kBounce;
  route.dsn = "5.0.0";
  size_t space = text.find(' ');
  std::string_view first = text.substr(0, space);
  if (is_status_code(first)) {
    route.dsn = std::string(first);
    text = space == std::string_view::npos ? std::string_view() : trim(text.substr(space + 1));
    if (route.dsn[0] == '4') route.kind = Route::Kind::kDefer;
  }
  route.reason = text.empty() ? "delivery refused by transport_maps" : std::string(text);
  return route;
}

Route Router::route_remote(std::string_view address) const {
  Result<std::optional<TransportEntry>> entry = find_transport(address);
  if (!entry) {
    Route route;
    route.short_retry = true;
    route.dsn = "4.3.0";
    route.reason = "transport_maps lookup failed: " + entry.error().describe();
    return route;
  }
  if (!*entry || (*entry)->kind == TransportEntry::Kind::kRelay) {
    return relay_route(address, *entry ? std::string_view((*entry)->nexthop) : "");
  }
  if ((*entry)->kind == TransportEntry::Kind::kError) return error_route((*entry)->text);
  Route route;
  if ((*entry)->kind == TransportEntry::Kind::kDelivery && is_local_domain(address)) {
    return relay_route(address, "");
  }
  if ((*entry)->kind == TransportEntry::Kind::kDelivery) {
    route.kind = Route::Kind::kBounce;
    route.dsn = "5.1.1";
    route.reason =
        "transport_maps routes this address to local delivery, but its domain is "
        "not one of ours";
    return route;
  }
  route.dsn = "4.3.5";
  route.reason = "unknown transport in transport_maps: " + (*entry)->text;
  return route;
}

Route Router::route(std::string_view address) const {
  Route route;
  Result<std::optional<TransportEntry>> entry = find_transport(address);
  if (!entry) {
    route.short_retry = true;
    route.dsn = "4.3.0";
    route.reason = "transport_maps lookup failed: " + entry.error().describe();
    return route;
  }
  if (*entry) {
    switch ((*entry)->kind) {
      case TransportEntry::Kind::kRelay:
        return relay_route(address, (*entry)->nexthop);
      case TransportEntry::Kind::kError:
        return error_route((*entry)->text);
      case TransportEntry::Kind::kUnknown:
        route.dsn = "4.3.5";
        route.reason = "unknown transport in transport_maps: " + (*entry)->text;
        return route;
      case TransportEntry::Kind::kDelivery:
        break;  // our accounts decide below
    }
  }

  Result<Resolution> where = accounts_.resolve(address, settings_.recipient_delimiter);
  if (!where) {
    route.short_retry = true;
    route.dsn = "4.3.0";
    route.reason = "accounts lookup failed: " + where.error().describe();
    return route;
  }
  if (!where->ours) {
    if (*entry && is_local_domain(address)) return relay_route(address, "");
    if (*entry) {  // "local:" for a domain we do not have
      route.kind = Route::Kind::kBounce;
      route.dsn = "5.1.1";
      route.reason =
          "User unknown (transport_maps routes it to local delivery, but the domain "
          "is not one of ours)";
      return route;
    }
    return relay_route(address, "");
  }
  if (!where->known) {
    route.kind = Route::Kind::kBounce;
    route.dsn = "5.1.1";
    route.reason = "User unknown";
    return route;
  }
  if (where->remote.empty()) {
    route.kind = Route::Kind::kDelivery;
    route.mailboxes = std::move(where->mailboxes);
    return route;
  }
  if (where->remote.size() == 1 && where->mailboxes.empty() &&
      !(settings_.seals_forwards_for && settings_.seals_forwards_for(lower(domain_of(address))))) {
    // A plain forward: relay sends it to the target; the result is the original recipient's.
    return route_remote(where->remote.front());
  }
  // Several targets of which some are outside: one result per original recipient cannot say
  // "sent to these, deferred for that", so qmgr replaces the recipient by a new queue file
  // with the targets as recipients (lib/queue/expansion_file.hpp). So does a plain forward
  // that we ARC-seal: the seal goes on the new file.
  route.kind = Route::Kind::kExpand;
  route.mailboxes = std::move(where->mailboxes);
  route.mailboxes.insert(route.mailboxes.end(), where->remote.begin(), where->remote.end());
  return route;
}

Route Router::route_final(std::string_view address) const {
  Result<bool> ours = accounts_.is_our_domain(lower(domain_of(address)));
  if (!ours) {
    Route route;
    route.short_retry = true;
    route.dsn = "4.3.0";
    route.reason = "accounts lookup failed: " + ours.error().describe();
    return route;
  }
  if (*ours) {
    Route route;
    route.kind = Route::Kind::kDelivery;
    route.mailboxes.emplace_back(address);
    return route;
  }
  return route_remote(address);
}

std::map<std::string, std::vector<size_t>> group_by_nexthop(
    const std::vector<std::pair<size_t, std::string>>& index_and_nexthop) {
  std::map<std::string, std::vector<size_t>> groups;
  for (const auto& [index, nexthop] : index_and_nexthop) groups[lower(nexthop)].push_back(index);
  return groups;
}

}  // namespace postern
