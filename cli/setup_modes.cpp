// The table of `postern setup` modes and the checks of its inputs (see setup_modes.hpp).
#include "cli/setup_modes.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "lib/base/ascii.hpp"

namespace postern::cli {
namespace {

constexpr std::array kModes = {
    ModeInfo{SetupMode::kInternet, "internet",
             "internet site: mail is sent and received directly using SMTP", false, false, true,
             false},
    ModeInfo{SetupMode::kSmarthost, "smarthost",
             "internet with smarthost: mail is received directly, sent through a smart host", true,
             false, true, false},
    ModeInfo{SetupMode::kSatellite, "satellite",
             "satellite system: all mail is sent through a smart host, none is received from "
             "the network",
             true, true, false, false},
    ModeInfo{SetupMode::kLocal, "local",
             "local only: mail for local users only, nothing leaves this machine", false, true,
             true, true},
};

constexpr size_t kMaxLabelBytes = 63;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_ipv4(std::string_view text) {
  in_addr address{};
  return text.size() < INET_ADDRSTRLEN &&
         ::inet_pton(AF_INET, std::string(text).c_str(), &address) == 1;
}

bool is_ipv6(std::string_view text) {
  in6_addr address{};
  return text.size() < INET6_ADDRSTRLEN &&
         ::inet_pton(AF_INET6, std::string(text).c_str(), &address) == 1;
}

// Shown in error messages: cut, and only printable ASCII.
std::string shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    out += (c >= 0x21 && c <= 0x7e) ? c : '?';
  }
  if (text.size() > 80) out += "...";
  return out;
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

Result<std::string> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::parse(fmt::format("bad port \"{}\" (1 to 65535)", shown(text)));
  }
  int port = std::stoi(std::string(text));
  if (port < 1 || port > 65535) {
    return Error::parse(fmt::format("bad port \"{}\" (1 to 65535)", shown(text)));
  }
  return std::to_string(port);
}

}  // namespace

const ModeInfo& mode_info(SetupMode mode) {
  for (const ModeInfo& info : kModes) {
    if (info.mode == mode) return info;
  }
  return kModes[0];
}

std::optional<SetupMode> parse_setup_mode(std::string_view name) {
  for (const ModeInfo& info : kModes) {
    if (info.name == name) return info.mode;
  }
  return std::nullopt;
}

Result<std::string> normalize_domain(std::string_view text) {
  std::string_view name = text;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxDomainBytes) {
    return Error::parse(
        fmt::format("bad domain \"{}\" (1 to {} bytes)", shown(text), kMaxDomainBytes));
  }
  size_t label_bytes = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label_bytes == 0 || name[i - 1] == '-') {
        return Error::parse(
            fmt::format("bad domain \"{}\" (an empty label, or one ending in "
                        "'-')",
                        shown(text)));
      }
      label_bytes = 0;
      continue;
    }
    bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || (c == '-' && label_bytes > 0);
    if (!ok || ++label_bytes > kMaxLabelBytes) {
      return Error::parse(
          fmt::format("bad domain \"{}\" (letters, digits and '-' in labels of at most {} bytes)",
                      shown(text), kMaxLabelBytes));
    }
  }
  if (name.back() == '-') {
    return Error::parse(fmt::format("bad domain \"{}\" (a label ends in '-')", shown(text)));
  }
  return ascii_lowercase(name);
}

Result<std::string> normalize_relayhost(std::string_view text) {
  std::string_view host;
  std::string_view port;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Error::parse(fmt::format("bad relay host \"{}\" (no ']')", shown(text)));
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Error::parse(
            fmt::format("bad relay host \"{}\" (after ']' only :PORT)", shown(text)));
      }
      port = rest.substr(1);
      if (port.empty()) return Error::parse("bad relay host: empty port after ':'");
    }
  } else {
    size_t colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.find(':') != std::string_view::npos) {
        return Error::parse(fmt::format(
            "bad relay host \"{}\" (an IPv6 address goes in brackets: [2001:db8::1]:587)",
            shown(text)));
      }
      if (port.empty()) return Error::parse("bad relay host: empty port after ':'");
    }
  }
  std::string host_text;
  if (bracketed && host.starts_with("IPv6:")) host.remove_prefix(5);
  if (bracketed && is_ipv6(host)) {
    host_text = ascii_lowercase(host);
  } else if (is_ipv4(host)) {
    host_text = std::string(host);
  } else {
    Result<std::string> name = normalize_domain(host);
    if (!name) return Error::parse("relay host: " + name.error().message);
    host_text = std::move(name).value();
  }
  std::string normalized = "[" + host_text + "]";
  if (!port.empty()) {
    Result<std::string> number = parse_port(port);
    if (!number) return Error::parse("relay host: " + number.error().message);
    normalized += ":" + *number;
  }
  return normalized;
}

Result<std::string> normalize_listen(std::string_view text) {
  if (text == "all") return std::string("all");
  if (text == "loopback" || text == "loopback-only") return std::string("loopback-only");
  std::vector<std::string> addresses;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view word = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (word.size() >= 2 && word.front() == '[' && word.back() == ']') {
      word = word.substr(1, word.size() - 2);
    }
    if (!is_ipv4(word) && !is_ipv6(word)) {
      return Error::parse(
          fmt::format("--listen: \"{}\" is not all, loopback or an IP address", shown(word)));
    }
    std::string address(word);
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(std::move(address));
    }
    if (addresses.size() > kMaxListenAddresses) {
      return Error::limit(fmt::format("--listen: more than {} addresses", kMaxListenAddresses));
    }
  }
  std::string joined;
  for (const std::string& address : addresses) {
    if (!joined.empty()) joined += ", ";
    joined += address;
  }
  return joined;
}

Status check_relay_user(std::string_view user) {
  if (user.empty() || user.size() > kMaxRelayUserBytes) {
    return Error::parse(fmt::format("--relay-user: 1 to {} bytes", kMaxRelayUserBytes));
  }
  if (has_control(user) || user.find_first_of(" \t:") != std::string_view::npos) {
    return Error::parse("--relay-user: no white space, ':' or control characters");
  }
  return Status::success();
}

Status check_relay_password(std::string_view password) {
  if (password.empty() || password.size() > kMaxRelayPasswordBytes) {
    return Error::parse(fmt::format("the relay password (stdin) must be 1 to {} bytes on one line",
                                    kMaxRelayPasswordBytes));
  }
  if (has_control(password)) {
    return Error::parse("the relay password (stdin) holds a control character");
  }
  if (password.front() == ' ' || password.back() == ' ' || password.front() == '\t' ||
      password.back() == '\t') {
    return Error::parse("the relay password (stdin) begins or ends with white space");
  }
  return Status::success();
}

std::vector<Setting> mode_settings(const SetupRequest& request) {
  const ModeInfo& info = mode_info(request.mode);
  std::vector<Setting> settings;
  settings.push_back({"myorigin", request.mailname_file});

  // Who is delivered here (postern-local's system users; the accounts file's domains always
  // are). Satellite: only localhost, so that root@<mailname> goes to the smart host.
  std::vector<std::string> destinations;
  auto add = [&](const std::string& name) {
    if (std::find(destinations.begin(), destinations.end(), name) == destinations.end()) {
      destinations.push_back(name);
    }
  };
  if (info.hostname_is_local) {
    add("$myhostname");
    if (!request.mailname.empty()) add(request.mailname);
  }
  for (const std::string& domain : request.domains) add(domain);
  add("localhost.$mydomain");
  add("localhost");
  std::string mydestination;
  for (const std::string& name : destinations) {
    if (!mydestination.empty()) mydestination += ", ";
    mydestination += name;
  }
  settings.push_back({"mydestination", mydestination});

  settings.push_back({"relayhost", info.needs_relayhost ? request.relayhost : ""});
  if (!request.credentials_table.empty()) {
    settings.push_back({"smtp_sasl_password_maps", request.credentials_table});
  }
  // A login goes only to the smart host whose certificate proves its name.
  const bool login = !request.credentials_table.empty() ||
                     request.current_password_maps.find_first_not_of(" \t,") != std::string::npos;
  settings.push_back({"smtp_tls_security_level", info.needs_relayhost && login ? "verify" : "may"});
  std::string interfaces = info.loopback_only ? "loopback-only" : "all";
  if (!request.listen.empty()) interfaces = request.listen;
  settings.push_back({"inet_interfaces", interfaces});
  settings.push_back({"mynetworks", ""});

  // transport_maps: the admin's tables kept, in order; ours first in the local mode only.
  std::vector<std::string> tables;
  std::string_view current = request.current_transport_maps;
  size_t pos = 0;
  while (pos < current.size()) {
    while (pos < current.size() &&
           (current[pos] == ',' || current[pos] == ' ' || current[pos] == '\t')) {
      ++pos;
    }
    size_t end = pos;
    while (end < current.size() && current[end] != ',' && current[end] != ' ' &&
           current[end] != '\t') {
      ++end;
    }
    if (end > pos) {
      std::string table(current.substr(pos, end - pos));
      if (table != request.local_only_table) tables.push_back(std::move(table));
    }
    pos = end;
  }
  if (info.nothing_leaves) tables.insert(tables.begin(), request.local_only_table);
  std::string transport_maps;
  for (const std::string& table : tables) {
    if (!transport_maps.empty()) transport_maps += ", ";
    transport_maps += table;
  }
  settings.push_back({"transport_maps", transport_maps, true});
  return settings;
}

std::string local_only_transport_text() {
  return "# Written by `postern setup --mode local`: every address goes to local delivery, which\n"
         "# takes the domains of the accounts file and of mydestination and bounces the rest\n"
         "# (5.1.1): nothing leaves this machine. Another mode removes this table from\n"
         "# transport_maps.\n"
         "*\tlocal:\n";
}

std::string relay_credentials_text(std::string_view relayhost, std::string_view user,
                                   std::string_view password) {
  return fmt::format(
      "# Written by `postern setup` (the smart host's login; keep this file mode 0600).\n"
      "{} {}:{}\n",
      relayhost, user, password);
}

std::string mode_comment_block(const SetupRequest& request) {
  const ModeInfo& info = mode_info(request.mode);
  std::string block;
  block += kModeBlockBegin;
  block += '\n';
  block += fmt::format("# Mode: {} -- {}.\n", info.name, info.summary);
  switch (request.mode) {
    case SetupMode::kInternet:
      block +=
          "# Receives on every interface (inet_interfaces = all) mail for the accounts file's\n"
          "# domains and, for the system users, for mydestination; sends to each domain's MX\n"
          "# (relayhost empty).\n";
      break;
    case SetupMode::kSmarthost:
      block +=
          "# Receives as the internet mode does (inet_interfaces = all); sends every message\n"
          "# for another domain through relayhost, logging in with smtp_sasl_password_maps\n"
          "# when postern setup was given --relay-user (then smtp_tls_security_level = verify).\n";
      break;
    case SetupMode::kSatellite:
      block +=
          "# Listens on loopback only (inet_interfaces = loopback-only); delivers here only\n"
          "# mail for localhost (mydestination), so that root's mail, root@<mailname>, goes to\n"
          "# relayhost with everything else.\n";
      break;
    case SetupMode::kLocal:
      block +=
          "# Listens on loopback only (inet_interfaces = loopback-only); delivers mail for the\n"
          "# system users (mydestination) and the accounts file's domains; transport_maps\n"
          "# starts with a table that routes every other address to local delivery, which\n"
          "# bounces it: nothing leaves this machine.\n";
      break;
  }
  block +=
      "# In every mode mynetworks is empty: no client is trusted to relay, not even loopback.\n"
      "# Local programs use sendmail(8); users authenticate on submission. The lines postern\n"
      "# setup sets: myorigin, mydestination, relayhost, smtp_tls_security_level,\n"
      "# inet_interfaces, mynetworks, transport_maps (and smtp_sasl_password_maps with\n"
      "# --relay-user); see postern(8).\n";
  block += kModeBlockEnd;
  block += '\n';
  return block;
}

}  // namespace postern::cli
