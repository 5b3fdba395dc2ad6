// Move-only owners for libevent objects: the event base, a bufferevent (socket or TLS filter),
// a single event (signal, timer, fd watch) and a connection listener. Used by master and every
// worker; daemon code never frees one of these by hand.
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <utility>

namespace postern {

template <class T, void (*Free)(T*)>
class EventHandle {
 public:
  EventHandle() = default;
  explicit EventHandle(T* handle) : handle_(handle) {}
  EventHandle(EventHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  EventHandle& operator=(EventHandle&& other) noexcept {
    if (this != &other) reset(std::exchange(other.handle_, nullptr));
    return *this;
  }
  EventHandle(const EventHandle&) = delete;
  EventHandle& operator=(const EventHandle&) = delete;
  ~EventHandle() { reset(); }

  T* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }
  // Gives up ownership (e.g. to a TLS filter that frees the socket bufferevent under it).
  T* release() { return std::exchange(handle_, nullptr); }
  void reset(T* handle = nullptr) {
    if (handle_ != nullptr) Free(handle_);
    handle_ = handle;
  }

 private:
  T* handle_ = nullptr;
};

using BufferEventHandle = EventHandle<bufferevent, bufferevent_free>;
using EventBaseHandle = EventHandle<event_base, event_base_free>;
using SingleEventHandle = EventHandle<event, event_free>;
using ListenerHandle = EventHandle<evconnlistener, evconnlistener_free>;

}  // namespace postern
