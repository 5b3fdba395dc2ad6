// master.cf reader: the service table, Postfix style, read by master at start and on SIGHUP
// (and by `postern config check`). The file is the admin's and trusted, but still bounded:
// 100000 bytes a line, 4 MiB a file, 1000 services, 256 words a service. Errors name file:line.
//
// Column defaults for "-": private y, unpriv y, chroot n (Postfix says y; we do not chroot yet
// and record the column only), wakeup 0, maxproc 1 (each copy serves many clients).
#include "lib/config/master_cf.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>

#include "lib/config/config_lines.hpp"
#include "lib/base/file_read.hpp"

namespace postern {
namespace {

constexpr size_t kMaxLineBytes = 100000;
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;
constexpr size_t kMaxServices = 1000;
constexpr size_t kMaxWords = 256;
constexpr size_t kMaxUnixNameBytes = 64;  // private/NAME must fit in sun_path (108 bytes)
constexpr int kMaxWakeupSeconds = 7 * 86400;
constexpr int kMaxProcesses = 1000;

struct NamedPort {
  std::string_view name;
  int port;
};
constexpr std::array<NamedPort, 6> kServicePorts = {{
    {"smtp", 25},
    {"submission", 587},
    {"submissions", 465},
    {"smtps", 465},
    {"imap", 143},
    {"imaps", 993},
}};

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

bool parse_number(std::string_view s, int max, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n > max) return false;
  *out = n;
  return true;
}

// "-" -> fallback; y / n otherwise.
bool parse_flag(std::string_view word, bool fallback, bool* out) {
  if (word == "-") {
    *out = fallback;
  } else if (word == "y") {
    *out = true;
  } else if (word == "n") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

bool parse_port(std::string_view text, int* port) {
  for (const NamedPort& named : kServicePorts) {
    if (text == named.name) {
      *port = named.port;
      return true;
    }
  }
  return parse_number(text, 65535, port) && *port >= 1;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// inet service field: "port", "host:port" or "[address]:port".
std::string parse_inet_service(std::string_view service, std::string* host, int* port) {
  std::string_view port_text = service;
  host->clear();
  if (!service.empty() && service.front() == '[') {
    size_t close = service.find(']');
    if (close == std::string_view::npos || close + 1 >= service.size() ||
        service[close + 1] != ':') {
      return "expected [address]:port";
    }
    std::string address(service.substr(1, close - 1));
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET6, address.c_str(), buf) != 1 &&
        inet_pton(AF_INET, address.c_str(), buf) != 1) {
      return fmt::format("bad address \"{}\" in brackets", address);
    }
    *host = address;
    port_text = service.substr(close + 2);
  } else if (size_t colon = service.find(':'); colon != std::string_view::npos) {
    if (service.find(':', colon + 1) != std::string_view::npos) {
      return "an IPv6 address must be written in brackets: [address]:port";
    }
    std::string_view host_text = service.substr(0, colon);
    if (!valid_host(host_text)) return fmt::format("bad host \"{}\"", host_text);
    *host = std::string(host_text);
    port_text = service.substr(colon + 1);
  }
  if (!parse_port(port_text, port)) {
    return fmt::format(
        "bad port \"{}\" (expected 1..65535 or one of smtp, submission, "
        "submissions, smtps, imap, imaps)",
        port_text);
  }
  return "";
}

bool valid_unix_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxUnixNameBytes || name == "." || name == "..") {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<ServiceEntry> parse_entry(std::string_view entry, const std::string& where, int line) {
  std::vector<std::string_view> words = split_words(entry);
  if (words.size() > kMaxWords) {
    return Error::limit(fmt::format("{}more than {} words in one service", where, kMaxWords));
  }
  if (words.size() < 8) {
    return Error::config(fmt::format(
        "{}expected at least 8 fields: service type private unpriv chroot wakeup maxproc "
        "command",
        where));
  }
  ServiceEntry service;
  service.line = line;
  service.name = std::string(words[0]);
  service.type = std::string(words[1]);
  if (service.type == "inet") {
    std::string problem = parse_inet_service(words[0], &service.listen_host, &service.listen_port);
    if (!problem.empty()) {
      return Error::config(fmt::format("{}bad inet service \"{}\": {}", where, words[0], problem));
    }
  } else if (service.type == "unix") {
    if (!valid_unix_name(words[0])) {
      return Error::config(fmt::format(
          "{}bad unix service name \"{}\" (letters, digits, '-', '_', '.', at most {} bytes)",
          where, words[0], kMaxUnixNameBytes));
    }
  } else {
    return Error::config(
        fmt::format("{}bad service type \"{}\" (expected inet or unix)", where, words[1]));
  }
  if (!parse_flag(words[2], true, &service.is_private)) {
    return Error::config(
        fmt::format("{}bad private field \"{}\" (expected y, n or -)", where, words[2]));
  }
  if (!parse_flag(words[3], true, &service.unprivileged)) {
    return Error::config(
        fmt::format("{}bad unpriv field \"{}\" (expected y, n or -)", where, words[3]));
  }
  if (!parse_flag(words[4], false, &service.chroot)) {
    return Error::config(
        fmt::format("{}bad chroot field \"{}\" (expected y, n or -)", where, words[4]));
  }
  std::string_view wakeup = words[5];
  if (wakeup != "-") {
    // Postfix's "60?" (wake up only when the service is used) is read as a plain 60.
    if (!wakeup.empty() && wakeup.back() == '?') wakeup.remove_suffix(1);
    if (!parse_number(wakeup, kMaxWakeupSeconds, &service.wakeup_seconds)) {
      return Error::config(fmt::format("{}bad wakeup field \"{}\" (expected 0..{} or -)", where,
                                       words[5], kMaxWakeupSeconds));
    }
  }
  if (words[6] != "-") {
    if (!parse_number(words[6], kMaxProcesses, &service.max_processes) ||
        service.max_processes < 1) {
      return Error::config(fmt::format("{}bad maxproc field \"{}\" (expected 1..{} or -)", where,
                                       words[6], kMaxProcesses));
    }
  }
  service.command = std::string(words[7]);
  for (size_t i = 8; i < words.size(); ++i) {
    std::string_view word = words[i];
    std::string_view setting;
    if (word == "-o") {
      if (i + 1 >= words.size()) {
        return Error::config(fmt::format("{}-o without name=value", where));
      }
      setting = words[++i];
    } else if (word.size() > 2 && word.substr(0, 2) == "-o") {
      setting = word.substr(2);
    } else {
      service.args.emplace_back(word);
      continue;
    }
    size_t eq = setting.find('=');
    std::string_view name = eq == std::string_view::npos ? setting : setting.substr(0, eq);
    if (eq == std::string_view::npos || !valid_param_name(name)) {
      return Error::config(fmt::format(
          "{}bad override \"-o {}\" (expected -o name=value as one word)", where, setting));
    }
    service.overrides.emplace_back(std::string(name), std::string(setting.substr(eq + 1)));
  }
  return service;
}

}  // namespace

Result<std::vector<ServiceEntry>> parse_master_cf(std::string_view text,
                                                  std::string_view file_name) {
  std::string file(file_name);
  std::vector<ServiceEntry> services;
  Status read = for_each_config_entry(
      text, file, {kMaxFileBytes, kMaxLineBytes}, "service",
      [&](std::string_view logical, int line) -> Status {
        std::string where = fmt::format("{}:{}: ", file, line);
        if (services.size() >= kMaxServices) {
          return Error::limit(fmt::format("{}more than {} services", where, kMaxServices));
        }
        Result<ServiceEntry> entry = parse_entry(logical, where, line);
        if (!entry) return entry.error();
        for (const ServiceEntry& other : services) {
          if (other.name == entry->name && other.type == entry->type) {
            return Error::config(fmt::format("{}duplicate service {} {} (first defined at line {})",
                                             where, entry->name, entry->type, other.line));
          }
        }
        services.push_back(std::move(entry).value());
        return Status::success();
      });
  if (!read) return read.error();
  return services;
}

Result<std::vector<ServiceEntry>> load_master_cf(const std::string& path) {
  Result<std::string> text = read_small_file(path, kMaxFileBytes);
  if (!text) return text.error();
  return parse_master_cf(*text, path);
}

}  // namespace postern
