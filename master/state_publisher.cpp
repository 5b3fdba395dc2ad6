// The master state file's writer (master/state_publisher.hpp). Process: master.
#include "master/state_publisher.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "lib/base/log.hpp"

namespace postern::master {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StatePublisher::StatePublisher(event_base* base, std::string path, std::string config_dir,
                               Source source)
    : path_(std::move(path)),
      config_dir_(std::move(config_dir)),
      source_(std::move(source)),
      started_(unix_now()),
      event_(event_new(base, -1, 0, &StatePublisher::on_event, this)) {
  if (!event_) log::fatal("cannot create the state publishing event");
}

StatePublisher::~StatePublisher() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    log::warning("cannot remove {}: {}", path_, std::strerror(errno));
  }
}

void StatePublisher::schedule() {
  if (scheduled_) return;
  scheduled_ = true;
  event_active(event_.get(), EV_TIMEOUT, 0);
}

void StatePublisher::on_event(int, short, void* arg) {
  auto* self = static_cast<StatePublisher*>(arg);
  self->scheduled_ = false;
  self->write_now();
}

bool StatePublisher::write_now() {
  MasterState state;
  state.pid = static_cast<int64_t>(::getpid());
  state.started = started_;
  state.updated = unix_now();
  state.config_dir = config_dir_;
  state.services = source_();
  Status written = write_master_state(path_, state);
  if (!written) {
    if (!failing_) {
      log::warning("cannot publish the service state for postern status: {}",
                   written.error().describe());
    }
    failing_ = true;
    return false;
  }
  if (failing_) log::info("service state published again in {}", path_);
  failing_ = false;
  return true;
}

}  // namespace postern::master
