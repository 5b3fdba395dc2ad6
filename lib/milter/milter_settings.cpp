// Reading the milter parameters of main.cf (see milter_settings.hpp). Runs once at daemon
// start; the admin's text is checked, not trusted blindly: an unknown per-milter setting, a
// bad time or a bad address is an error with the entry named.
#include "lib/milter/milter_settings.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"

namespace postern::milter {
namespace {

bool is_separator(char c) {
  return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_separator(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_separator(text.back())) text.remove_suffix(1);
  return text;
}

// "5s", "2m", "1h", "300" (seconds), "250ms": at most one hour.
Result<std::chrono::milliseconds> parse_timeout(std::string_view text) {
  uint64_t number = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    number = number * 10 + static_cast<uint64_t>(text[i] - '0');
    if (number > 3600 * 1000) return Error::config("time too large: " + std::string(text));
  }
  if (i == 0) return Error::config("not a time: " + std::string(text));
  std::string_view unit = text.substr(i);
  uint64_t ms = 0;
  if (unit.empty() || unit == "s") {
    ms = number * 1000;
  } else if (unit == "ms") {
    ms = number;
  } else if (unit == "m") {
    ms = number * 60 * 1000;
  } else if (unit == "h") {
    ms = number * 3600 * 1000;
  } else {
    return Error::config("not a time: " + std::string(text));
  }
  if (ms == 0 || ms > 3600 * 1000)
    return Error::config("time out of range (1ms to 1h): " + std::string(text));
  return std::chrono::milliseconds(ms);
}

Result<DefaultAction> parse_default_action(std::string_view text) {
  if (text == "accept") return DefaultAction::kAccept;
  if (text == "reject") return DefaultAction::kReject;
  if (text == "tempfail") return DefaultAction::kTempfail;
  if (text == "quarantine") return DefaultAction::kQuarantine;
  return Error::config(
      "milter default_action must be accept, reject, tempfail or quarantine, "
      "not " +
      std::string(text));
}

// One "name=value" of a { ... } group.
Status apply_setting(MilterSpec& spec, std::string_view setting) {
  size_t eq = setting.find('=');
  if (eq == std::string_view::npos) {
    return Error::config("milter setting without '=': " + std::string(setting));
  }
  std::string_view name = trim(setting.substr(0, eq));
  std::string_view value = trim(setting.substr(eq + 1));
  if (name == "default_action") {
    Result<DefaultAction> action = parse_default_action(value);
    if (!action) return action.error();
    spec.default_action = *action;
    return Status::success();
  }
  if (name == "protocol") {
    if (value.size() != 1 || value[0] < '2' || value[0] > '6') {
      return Error::config("milter protocol must be 2 to 6, not " + std::string(value));
    }
    spec.protocol = static_cast<uint32_t>(value[0] - '0');
    return Status::success();
  }
  std::chrono::milliseconds* target = nullptr;
  if (name == "connect_timeout") target = &spec.connect_timeout;
  if (name == "command_timeout") target = &spec.command_timeout;
  if (name == "content_timeout") target = &spec.content_timeout;
  if (target == nullptr) return Error::config("unknown milter setting " + std::string(name));
  Result<std::chrono::milliseconds> timeout = parse_timeout(value);
  if (!timeout) return timeout.error();
  *target = *timeout;
  return Status::success();
}

Result<MilterSpec> parse_entry(std::string_view address, const std::vector<std::string>& settings,
                               const MilterSpec& base, std::string_view unix_directory) {
  MilterSpec spec = base;
  spec.name = std::string(address);
  Result<MilterAddress> resolved = resolve_milter_address(address, unix_directory);
  if (!resolved) return resolved.error();
  spec.address = *resolved;
  for (const std::string& one : settings) {
    if (Status st = apply_setting(spec, one); !st) {
      return Error::config(spec.name + ": " + st.error().message);
    }
  }
  return spec;
}

std::vector<std::string> group_tokens(std::string_view group) {
  std::vector<std::string> tokens;
  std::string current;
  bool after_equals = false;  // white space after '=' joins the value to it
  for (size_t i = 0; i < group.size(); ++i) {
    char c = group[i];
    if (is_separator(c)) {
      size_t next = i;
      while (next < group.size() && is_separator(group[next]) && group[next] != ',') ++next;
      const bool joins = c != ',' && (after_equals || (next < group.size() && group[next] == '='));
      if (joins && !current.empty()) continue;
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
      after_equals = false;
      continue;
    }
    current += c;
    after_equals = c == '=';
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

Result<uint16_t> parse_port(std::string_view text) {
  uint32_t port = 0;
  if (text.empty() || text.size() > 5)
    return Error::config("bad milter port: " + std::string(text));
  for (char c : text) {
    if (c < '0' || c > '9') return Error::config("bad milter port: " + std::string(text));
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return Error::config("bad milter port: " + std::string(text));
  return static_cast<uint16_t>(port);
}

}  // namespace

std::string_view default_action_name(DefaultAction action) {
  switch (action) {
    case DefaultAction::kAccept:
      return "accept";
    case DefaultAction::kReject:
      return "reject";
    case DefaultAction::kTempfail:
      return "tempfail";
    case DefaultAction::kQuarantine:
      return "quarantine";
  }
  return "tempfail";
}

Result<MilterAddress> resolve_milter_address(std::string_view text,
                                             std::string_view unix_directory) {
  MilterAddress result;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Error::config("milter address needs unix:, local:, inet: or inet6: " +
                         std::string(text));
  }
  std::string_view kind = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  if (kind == "unix" || kind == "local") {
    auto* un = reinterpret_cast<sockaddr_un*>(&result.storage);
    std::string path(rest);
    if (!path.empty() && path.front() != '/' && !unix_directory.empty()) {
      path = std::string(unix_directory) + "/" + path;
    }
    rest = path;
    if (rest.empty() || rest.size() >= sizeof(un->sun_path)) {
      return Error::config("bad milter socket path: " + std::string(text));
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, rest.data(), rest.size());
    result.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + rest.size() + 1);
    return result;
  }
  if (kind != "inet" && kind != "inet6") {
    return Error::config("milter address needs unix:, local:, inet: or inet6: " +
                         std::string(text));
  }
  // host:port, [v6host]:port, or (Postfix) port alone = localhost
  std::string host;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return Error::config("bad milter address: " + std::string(text));
    }
    host = std::string(rest.substr(1, close - 1));
    port_text = rest.substr(close + 2);
  } else {
    size_t last = rest.rfind(':');
    if (last == std::string_view::npos) {
      host = kind == "inet6" ? "::1" : "127.0.0.1";
      port_text = rest;
    } else {
      host = std::string(rest.substr(0, last));
      port_text = rest.substr(last + 1);
    }
  }
  Result<uint16_t> port = parse_port(port_text);
  if (!port) return Error::config(std::string(text) + ": " + port.error().message);
  if (ascii_lowercase(host) == "localhost") host = kind == "inet6" ? "::1" : "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = kind == "inet6" ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error::config("cannot resolve milter host " + host + ": " + gai_strerror(rc));
  }
  std::memcpy(&result.storage, found->ai_addr, found->ai_addrlen);
  result.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  if (result.storage.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&result.storage)->sin_port = htons(*port);
  } else if (result.storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&result.storage)->sin6_port = htons(*port);
  } else {
    return Error::config("milter host is neither IPv4 nor IPv6: " + host);
  }
  return result;
}

Result<std::vector<MilterSpec>> parse_milter_list(std::string_view text, const MilterSpec& base,
                                                  std::string_view unix_directory) {
  std::vector<MilterSpec> milters;
  size_t i = 0;
  while (i < text.size()) {
    if (is_separator(text[i])) {
      ++i;
      continue;
    }
    if (milters.size() >= 32) return Error::config("more than 32 milters in one list");
    if (text[i] == '{') {
      size_t close = text.find('}', i);
      if (close == std::string_view::npos) return Error::config("milter list: '{' without '}'");
      // Inside the braces: the address, then name=value settings, separated by commas and/or
      // white space (white space around '=' is allowed).
      std::vector<std::string> tokens = group_tokens(text.substr(i + 1, close - i - 1));
      if (tokens.empty()) return Error::config("milter list: '{ }' without an address");
      std::vector<std::string> settings(tokens.begin() + 1, tokens.end());
      Result<MilterSpec> spec = parse_entry(tokens.front(), settings, base, unix_directory);
      if (!spec) return spec.error();
      milters.push_back(std::move(spec).value());
      i = close + 1;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !is_separator(text[end])) ++end;
    Result<MilterSpec> spec =
        parse_entry(text.substr(i, end - i), std::vector<std::string>(), base, unix_directory);
    if (!spec) return spec.error();
    milters.push_back(std::move(spec).value());
    i = end;
  }
  return milters;
}

Result<MilterSettings> load_milter_settings(const MainConfig& config,
                                            std::string_view list_parameter) {
  MilterSpec base;
  Result<DefaultAction> action = parse_default_action(config.get("milter_default_action"));
  if (!action) return action.error();
  base.default_action = *action;
  base.connect_timeout = std::chrono::seconds(config.get_seconds("milter_connect_timeout"));
  base.command_timeout = std::chrono::seconds(config.get_seconds("milter_command_timeout"));
  base.content_timeout = std::chrono::seconds(config.get_seconds("milter_content_timeout"));
  base.protocol = static_cast<uint32_t>(config.get_int("milter_protocol"));

  MilterSettings settings;
  std::string queue_directory = config.get("queue_directory");
  Result<std::vector<MilterSpec>> milters =
      parse_milter_list(config.get(list_parameter), base, queue_directory);
  if (!milters) return Error::config(std::string(list_parameter) + ": " + milters.error().message);
  settings.milters = std::move(milters).value();
  static constexpr std::string_view kMacroParameters[] = {
      "milter_connect_macros",     "milter_helo_macros",           "milter_mail_macros",
      "milter_rcpt_macros",        "milter_data_macros",           "milter_end_of_header_macros",
      "milter_end_of_data_macros", "milter_unknown_command_macros"};
  for (size_t stage = 0; stage < static_cast<size_t>(MacroStage::kCount); ++stage) {
    settings.macros[stage] = config.get_list(kMacroParameters[stage]);
  }
  settings.daemon_name = config.get("milter_macro_daemon_name");
  settings.hostname = config.get("myhostname");
  return settings;
}

}  // namespace postern::milter
