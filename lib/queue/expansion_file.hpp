// Forwarding one recipient to several targets of which some are outside our domains: the
// recipient is replaced by a new queue file (same sender, message and DSN options) whose
// recipients are the targets, committed in incoming/ before the original recipient is marked
// done, as Postfix's local(8) re-injects a forward through cleanup. A crash in between means the
// targets get it twice, never not at all. The new file carries kExpandedFromAttribute, and qmgr
// routes its recipients as final addresses (no second virtual alias expansion, so no loop).
// Used by postern-qmgr (virtual aliases) and postern-local (/etc/aliases and .forward targets,
// with a Delivered-To: header first, by which a forwarding loop is seen); reads the original
// message chunk by chunk (never whole in memory).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"
#include "lib/base/result.hpp"

namespace postern {

// Attribute naming the queue file a forward was expanded from.
inline constexpr std::string_view kExpandedFromAttribute = "expanded_from";

struct ExpandedTarget {
  std::string address;  // a mailbox of ours or an outside address
  std::string orcpt;    // the original recipient, as RFC 3461 ORCPT ("rfc822;xtext")
  std::string notify;   // the original recipient's NOTIFY
};

// "rfc822;" + the address in xtext (RFC 3461 section 4): '+', '=' and bytes outside 33..126 as
// "+XX". Returns orcpt unchanged when the original recipient had one.
std::string orcpt_for(std::string_view original_address, std::string_view original_orcpt);

// Writes and commits the new queue file; returns its queue ID. prepend (whole header lines, each
// ending in CRLF) goes before the original message; sender, when given, replaces the original
// envelope sender (an owner-NAME alias).
Result<std::string> write_expansion(const QueueLayout& layout, const QueueFile& original,
                                    const std::vector<ExpandedTarget>& targets, int64_t now,
                                    std::string_view prepend = {},
                                    const std::optional<std::string>& sender = std::nullopt);

}  // namespace postern
