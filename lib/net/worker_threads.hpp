// A few threads that do a daemon's blocking work (Maildir and mbox writes and their fsyncs, a
// delivery child to wait for) so that one process keeps several deliveries in progress: the
// filesystem journal commits fsyncs that arrive together as one, which is where delivery
// throughput comes from. The event loop submits a job and gets its result back on the loop
// thread (an eventfd wakes it). Runs in postern-delivery and postern-local; jobs are their own
// code. Bounded: the thread count the owner gives, and the queue holds at most one job per
// connection (the owner's IpcServer connection limit).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/base/unique_fd.hpp"

struct event_base;
struct event;

namespace postern {

class WorkerThreads {
 public:
  using Job = std::function<std::string()>;              // runs on a worker thread
  using Done = std::function<void(std::string result)>;  // runs on the loop thread

  WorkerThreads(event_base* base, size_t threads);
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;
  ~WorkerThreads();  // finishes the jobs already running, drops queued ones, joins the threads

  void submit(Job job, Done done);
  size_t outstanding() const { return outstanding_; }

 private:
  struct Task {
    Job job;
    Done done;
    std::string result;
  };
  static void on_wakeup(int fd, short what, void* arg);
  void run();

  UniqueFd wake_fd_;
  event* wake_event_ = nullptr;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queued_;    // waiting for a thread
  std::deque<Task> finished_;  // waiting for the loop
  bool stopping_ = false;
  size_t outstanding_ = 0;  // loop thread only
  std::vector<std::thread> threads_;
};

}  // namespace postern
