// Worker threads for postern-delivery's disk work (see worker_threads.hpp). Jobs and results move
// under one mutex; an eventfd tells the event loop that results are waiting. Nothing here reads
// outside input.
#include "lib/net/worker_threads.hpp"

#include <event2/event.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/base/log.hpp"

namespace postern {

WorkerThreads::WorkerThreads(event_base* base, size_t threads)
    : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!wake_fd_) log::fatal("eventfd: {}", std::strerror(errno));
  wake_event_ =
      event_new(base, wake_fd_.get(), EV_READ | EV_PERSIST, &WorkerThreads::on_wakeup, this);
  if (!wake_event_ || event_add(wake_event_, nullptr) != 0) log::fatal("cannot watch eventfd");
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i)
    threads_.emplace_back([this] { run(); });
}

WorkerThreads::~WorkerThreads() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queued_.clear();
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  if (wake_event_) event_free(wake_event_);
}

void WorkerThreads::submit(Job job, Done done) {
  ++outstanding_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_.push_back(Task{std::move(job), std::move(done), {}});
  }
  ready_.notify_one();
}

void WorkerThreads::run() {
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
      if (stopping_) return;
      task = std::move(queued_.front());
      queued_.pop_front();
    }
    task.result = task.job();
    task.job = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.push_back(std::move(task));
    }
    uint64_t one = 1;
    ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
    (void)n;  // EAGAIN: the counter is already non-zero, the loop will wake anyway
  }
}

void WorkerThreads::on_wakeup(int fd, short, void* arg) {
  auto* self = static_cast<WorkerThreads*>(arg);
  uint64_t count = 0;
  ssize_t n = ::read(fd, &count, sizeof count);
  (void)n;
  std::deque<Task> done;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    done.swap(self->finished_);
  }
  for (Task& task : done) {
    --self->outstanding_;
    task.done(std::move(task.result));
  }
}

}  // namespace postern
