// Publishes the state of master's services for `postern status`: $queue_directory/pid/
// master.state (format and reader in lib/queue/master_state.hpp), rewritten each time a service
// starts workers, loses one, is throttled or comes back, and removed when master stops.
// Process: master, inside its libevent loop. Why a file rather than a control socket: a
// rename(2) of a small file never waits on a client, needs no protocol or timeouts in master, and
// `postern status` can read it with nothing else running; a reader checks the pid in it against
// the running master, so a file left by a killed master is seen as stale.
// Never in master's way: changes are coalesced into one write per loop round (a kill storm is
// many changes and few writes), there is no fsync, and a write that fails is logged once per
// failure streak and otherwise ignored: supervising the services always comes first.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/queue/master_state.hpp"

namespace postern::master {

class StatePublisher {
 public:
  using Source = std::function<std::vector<ServiceState>()>;

  // path: master_state_path(queue_directory); source: the services as they are now.
  StatePublisher(event_base* base, std::string path, std::string config_dir, Source source);
  StatePublisher(const StatePublisher&) = delete;
  StatePublisher& operator=(const StatePublisher&) = delete;
  ~StatePublisher();  // removes the file: no master, no state

  // Asks for a write in the next round of the loop (several calls, one write).
  void schedule();
  // Writes at once; false (logged once) when it could not.
  bool write_now();
  const std::string& path() const { return path_; }

 private:
  static void on_event(int fd, short what, void* arg);

  std::string path_;
  std::string config_dir_;
  Source source_;
  int64_t started_ = 0;
  SingleEventHandle event_;
  bool scheduled_ = false;
  bool failing_ = false;
};

}  // namespace postern::master
