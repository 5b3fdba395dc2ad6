// The listening sockets of every master.cf service: planned from master.cf and main.cf
// (inet_interfaces, inet_protocols, queue_directory), bound by master (as root when it can, so
// port 25 works), and kept across SIGHUP when a listener's (type, address) has not changed so
// that no connection is refused during a reload. Process: master. Trusts the checked config.
#pragma once

#include <string>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"
#include "master/master_config.hpp"

namespace postern::master {

// One socket to bind: an inet service with an empty host and several inet_interfaces becomes
// one ListenerPlan per interface (each gets its own max_processes workers).
struct ListenerPlan {
  size_t service_index = 0;  // into MasterConfig::services
  std::string key;           // identity across reloads: "inet 127.0.0.1:2525", "unix /path"
  std::string type;          // "inet" or "unix"
  std::string host;          // inet: "" = every address
  int port = 0;
  std::string path;      // unix
  unsigned mode = 0600;  // unix: 0600 private, 0666 public
  // From inet_interfaces = loopback-only: ::1 on a host without IPv6 is skipped with a warning
  // instead of failing the start.
  bool skip_when_unavailable = false;
};

Result<std::vector<ListenerPlan>> plan_listeners(const MasterConfig& config);

class Listener {
 public:
  Listener(std::string key, UniqueFd fd, std::string unix_path)
      : key_(std::move(key)), fd_(std::move(fd)), unix_path_(std::move(unix_path)) {}
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener();  // closes; a unix socket file is removed too

  const std::string& key() const { return key_; }
  int fd() const { return fd_.get(); }

 private:
  void remove_socket_file();
  std::string key_;
  UniqueFd fd_;
  std::string unix_path_;
};

class ServiceTable {
 public:
  // Binds what plans ask for, keeping the listeners whose key is unchanged and closing the
  // others. All or nothing: when a bind fails the table is left as it was.
  Status apply(const std::vector<ListenerPlan>& plans, const MasterConfig& config);
  // The fd of the listener with this key, or -1.
  int fd_for(const std::string& key) const;
  void close_all() { listeners_.clear(); }

 private:
  std::vector<Listener> listeners_;
};

}  // namespace postern::master
