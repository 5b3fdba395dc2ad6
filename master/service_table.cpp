// Listener planning and binding (master/service_table.hpp). Process: master, at start and on
// SIGHUP. Trusts the checked config; a bind failure is reported with the address and the
// errno and leaves the running listeners alone.
#include "master/service_table.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>

#include "lib/net/daemon.hpp"
#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::master {
namespace {

std::string endpoint_text(const std::string& host, int port) {
  if (host.empty()) return fmt::format("*:{}", port);
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

struct InterfaceHost {
  std::string host;
  bool skip_when_unavailable = false;
};

// inet_interfaces -> the hosts an inet service without a host listens on ("" = every address).
Result<std::vector<InterfaceHost>> interface_hosts(const MainConfig& config) {
  std::vector<std::string> words = config.get_list("inet_interfaces");
  std::string protocols = config.get("inet_protocols");
  std::vector<InterfaceHost> hosts;
  for (const std::string& word : words) {
    if (word == "all") {
      if (words.size() != 1) {
        return Error::config("inet_interfaces: \"all\" cannot be combined with addresses");
      }
      hosts.push_back({"", false});
    } else if (word == "loopback-only") {
      if (protocols != "ipv6") hosts.push_back({"127.0.0.1", false});
      if (protocols != "ipv4") hosts.push_back({"::1", protocols == "all"});
    } else {
      std::string host = word;
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      hosts.push_back({host, false});
    }
  }
  if (hosts.empty()) hosts.push_back({"", false});
  return hosts;
}

}  // namespace

Result<std::vector<ListenerPlan>> plan_listeners(const MasterConfig& config) {
  auto hosts = interface_hosts(config.main);
  if (!hosts) return hosts.error();
  QueueLayout layout{config.main.get("queue_directory")};
  std::vector<ListenerPlan> plans;
  std::map<std::string, int> seen;  // key -> master.cf line
  for (size_t i = 0; i < config.services.size(); ++i) {
    const ServiceEntry& service = config.services[i];
    std::vector<ListenerPlan> mine;
    if (service.type == "inet") {
      std::vector<InterfaceHost> service_hosts =
          service.listen_host.empty() ? hosts.value()
                                      : std::vector<InterfaceHost>{{service.listen_host, false}};
      for (const InterfaceHost& host : service_hosts) {
        ListenerPlan plan;
        plan.type = "inet";
        plan.host = host.host;
        plan.port = service.listen_port;
        plan.skip_when_unavailable = host.skip_when_unavailable;
        plan.key = "inet " + endpoint_text(host.host, service.listen_port);
        mine.push_back(std::move(plan));
      }
    } else {
      ListenerPlan plan;
      plan.type = "unix";
      plan.path =
          (service.is_private ? layout.private_dir() : layout.public_dir()) + "/" + service.name;
      plan.mode = service.is_private ? 0600 : 0666;
      plan.key = "unix " + plan.path;
      mine.push_back(std::move(plan));
    }
    for (ListenerPlan& plan : mine) {
      plan.service_index = i;
      auto [it, inserted] = seen.emplace(plan.key, service.line);
      if (!inserted) {
        return Error::config(fmt::format(
            "{}/master.cf:{}: service {} listens on {} as the service at line {} does",
            config.config_dir, service.line, service.name, plan.key.substr(5), it->second));
      }
      plans.push_back(std::move(plan));
    }
  }
  return plans;
}

Listener::Listener(Listener&& other) noexcept
    : key_(std::move(other.key_)),
      fd_(std::move(other.fd_)),
      unix_path_(std::exchange(other.unix_path_, std::string())) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    remove_socket_file();
    key_ = std::move(other.key_);
    fd_ = std::move(other.fd_);
    unix_path_ = std::exchange(other.unix_path_, std::string());
  }
  return *this;
}

Listener::~Listener() {
  remove_socket_file();
}

void Listener::remove_socket_file() {
  if (fd_.valid() && !unix_path_.empty()) ::unlink(unix_path_.c_str());
  unix_path_.clear();
}

Status ServiceTable::apply(const std::vector<ListenerPlan>& plans, const MasterConfig& config) {
  std::string protocols = config.main.get("inet_protocols");
  // First bind what is new, without touching the running listeners.
  std::map<std::string, Listener> fresh;
  for (const ListenerPlan& plan : plans) {
    if (fd_for(plan.key) >= 0) continue;
    if (plan.type == "inet") {
      auto fd = listen_inet(plan.host, plan.port, protocols);
      if (!fd && plan.skip_when_unavailable && fd.error().kind == ErrorKind::kSystem &&
          (fd.error().sys_errno == EADDRNOTAVAIL || fd.error().sys_errno == EAFNOSUPPORT)) {
        log::warning("{}: no IPv6 here; not listening on it", fd.error().describe());
        continue;
      }
      if (!fd) {
        const ServiceEntry& service = config.services[plan.service_index];
        return Error{fd.error().kind,
                     fmt::format("{}/master.cf:{}: service {}: {}", config.config_dir, service.line,
                                 service.name, fd.error().describe()),
                     0};
      }
      fresh.emplace(plan.key, Listener(plan.key, std::move(fd).value(), ""));
    } else {
      auto fd = listen_unix(plan.path, plan.mode);
      if (!fd) return fd.error();
      Listener listener(plan.key, std::move(fd).value(), plan.path);
      if (Status given = give_to_owner(plan.path, config.owner); !given) return given;
      fresh.emplace(plan.key, std::move(listener));
    }
    log::debug("listening on {}", plan.key);
  }
  // Then commit: keep the unchanged ones, add the new ones, close the rest.
  std::vector<Listener> next;
  for (const ListenerPlan& plan : plans) {
    if (auto it = fresh.find(plan.key); it != fresh.end()) {
      next.push_back(std::move(it->second));
      continue;
    }
    for (Listener& old : listeners_) {
      if (old.fd() >= 0 && old.key() == plan.key) {
        next.push_back(std::move(old));
        break;
      }
    }
  }
  for (const Listener& old : listeners_) {
    if (old.fd() >= 0) log::info("closing listener {}", old.key());
  }
  listeners_ = std::move(next);
  return Status::success();
}

int ServiceTable::fd_for(const std::string& key) const {
  for (const Listener& listener : listeners_) {
    if (listener.key() == key) return listener.fd();
  }
  return -1;
}

}  // namespace postern::master
