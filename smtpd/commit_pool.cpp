// The commit threads of postern-smtpd (see commit_pool.hpp). The loop side submits and
// collects; a thread only runs MessageIntake::commit on a job it owns alone.
#include "smtpd/commit_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "lib/base/log.hpp"

namespace postern::smtpd {

CommitPool::CommitPool(event_base* base, int threads) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return;
  wake_read_.reset(fds[0]);
  wake_write_.reset(fds[1]);
  wake_event_.reset(event_new(base, wake_read_.get(), EV_READ | EV_PERSIST, on_wake, this));
  if (!wake_event_ || event_add(wake_event_.get(), nullptr) != 0) {
    wake_event_.reset();
    return;
  }
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { worker(); });
}

CommitPool::~CommitPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void CommitPool::submit(MessageIntake intake, Done done) {
  auto job = std::make_unique<Job>(Job{std::move(intake), std::move(done), Status::success()});
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(job));
  }
  ready_.notify_one();
}

void CommitPool::worker() {
  while (true) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      job = std::move(pending_.front());
      pending_.pop_front();
    }
    job->status = job->intake.commit();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.push_back(std::move(job));
    }
    char byte = 1;
    // EAGAIN: the pipe is full of wake-ups already; one is enough.
    while (::write(wake_write_.get(), &byte, 1) < 0 && errno == EINTR) {
    }
  }
}

void CommitPool::on_wake(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<CommitPool*>(arg);
  char drain[256];
  while (::read(fd, drain, sizeof drain) > 0) {
  }
  std::deque<std::unique_ptr<Job>> done;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    done.swap(self->finished_);
  }
  for (std::unique_ptr<Job>& job : done) job->done(std::move(job->status));
}

}  // namespace postern::smtpd
