// Tells qmgr that a new file is in incoming/ (request=nudge queue_id=ID), so that delivery
// starts at once instead of at qmgr's next scan. Run by postern-smtpd after each commit. A
// blocking local call with a short deadline (kNudgeTimeoutMs); a failure only delays the
// message and is logged at debug level. The socket is $queue_directory/private/qmgr
// (docs/internals.md) or public/qmgr when master.cf marks the service public, as Postfix's
// own master.cf does: the first that answers is remembered.
#pragma once

#include <string>
#include <string_view>

#include "lib/queue_dir.hpp"

namespace postern::smtpd {

inline constexpr int kNudgeTimeoutMs = 100;

class QmgrNudge {
 public:
  explicit QmgrNudge(const QueueLayout& queue);
  void nudge(std::string_view queue_id);

 private:
  std::string paths_[2];
  int preferred_ = 0;
};

}  // namespace postern::smtpd
