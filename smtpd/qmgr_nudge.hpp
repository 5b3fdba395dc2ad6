// Tells qmgr that a new file is in incoming/ (request=nudge queue_id=ID), so that delivery
// starts at once instead of at qmgr's next scan. Run by postern-smtpd after each commit.
// Never blocks the event loop: the connect to the local socket is non-blocking, the reply is
// read by a bufferevent with a deadline (kNudgeTimeoutMs), and only one nudge is in flight:
// messages committed meanwhile are folded into the next one (without a queue_id when there are
// several, which makes qmgr scan incoming/). A failure only delays a message (qmgr scans
// incoming/ every second anyway) and is logged at debug level. The socket is
// $queue_directory/private/qmgr (docs/internals.md) or public/qmgr when master.cf marks the
// service public, as Postfix's own master.cf does: the one that exists is remembered.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::smtpd {

inline constexpr int kNudgeTimeoutMs = 1000;
inline constexpr size_t kMaxWaitingNudges = 10000;  // past it: one ID-less nudge covers all

class QmgrNudge {
 public:
  QmgrNudge(event_base* base, const QueueLayout& queue);
  QmgrNudge(const QmgrNudge&) = delete;
  QmgrNudge& operator=(const QmgrNudge&) = delete;

  void nudge(std::string_view queue_id);

 private:
  static void on_read(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void start(const std::optional<std::string>& queue_id);
  void finish();

  event_base* base_;
  std::string paths_[2];
  int preferred_ = 0;
  BufferEventHandle in_flight_;
  std::vector<std::string> waiting_;
  bool waiting_overflow_ = false;
};

}  // namespace postern::smtpd
