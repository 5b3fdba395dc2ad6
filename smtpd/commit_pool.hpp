// A small thread pool that runs the durable end of each message (MessageIntake::commit: fsync,
// rename into incoming/, fsync of the folder) off postern-smtpd's event loop. With one loop
// serving every session, committing inline would serialize all clients on the disk's fsync
// latency; in threads, concurrent commits overlap and the filesystem journal groups them.
// The 250 is still sent only after the commit succeeded: the completion runs on the loop
// thread, woken through a pipe. Jobs hold only their own queue file; nothing else is shared
// with the threads but the two queues below, each under its mutex.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"
#include "smtpd/message_intake.hpp"

namespace postern::smtpd {

inline constexpr int kCommitThreads = 16;

class CommitPool {
 public:
  using Done = std::function<void(Status)>;

  explicit CommitPool(event_base* base, int threads = kCommitThreads);
  CommitPool(const CommitPool&) = delete;
  CommitPool& operator=(const CommitPool&) = delete;
  ~CommitPool();  // joins the threads; jobs not yet started are dropped (their files unlinked)

  bool ok() const { return static_cast<bool>(wake_event_); }
  // Commits intake in a thread, then calls done(status) on the event loop thread.
  void submit(MessageIntake intake, Done done);

 private:
  struct Job {
    MessageIntake intake;
    Done done;
    Status status;
  };
  static void on_wake(evutil_socket_t fd, short what, void* arg);
  void worker();

  UniqueFd wake_read_;
  UniqueFd wake_write_;
  SingleEventHandle wake_event_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Job>> pending_;
  std::deque<std::unique_ptr<Job>> finished_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace postern::smtpd
