// Move-only owners for libevent handles used by master: the event base and single events
// (signals, timers). Process: master. Nothing here reads input.
#pragma once

#include <event2/event.h>

#include <memory>

namespace postern::master {

struct EventBaseDeleter {
  void operator()(event_base* base) const { event_base_free(base); }
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;

struct EventDeleter {
  void operator()(event* ev) const { event_free(ev); }
};
using EventPtr = std::unique_ptr<event, EventDeleter>;

}  // namespace postern::master
