// A user's ~/.forward file (and a :include: file, which has the same form), as the local delivery
// agent reads it before it delivers to that user. Written by any local user: fully hostile, so
// bounded by ForwardFileLimits (file bytes, targets in the whole file, bytes per target), and
// never a crash. Messages quote no text of the file.
//
// Format: every line is a target list (alias_target.hpp: "alice@example.org, \alice",
// "|/usr/bin/vacation alice", "/home/alice/mail/saved"); there are no names and no continuation
// lines (a line that starts with white space is simply another list). Blank lines and lines
// whose first non-blank character is '#' are skipped. One CR before each LF is dropped; the last
// line needs no LF. A file with no targets gives an empty vector (the caller decides what that
// means). Errors (kParse, "file:line: reason"): a NUL byte, an unterminated quote (a quote
// cannot span lines), a relative :include: path, an empty command or '\' user; kLimit: a file
// larger than max_file_bytes, a target longer than, or more targets in the file than, the
// limits.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/alias_target.hpp"

namespace postern {

inline constexpr size_t kMaxForwardFileBytes = size_t{64} << 10;  // 64 KiB
inline constexpr size_t kMaxForwardTargets = 100;                 // in the whole file

struct ForwardFileLimits {
  size_t max_file_bytes = kMaxForwardFileBytes;
  AliasTargetLimits targets{kMaxForwardTargets, kMaxAliasTargetBytes};
};

// Parses a .forward (or :include:) file; file_name is used in messages. For a :include: file
// named in /etc/aliases (the admin's) the caller may pass larger limits.
Result<std::vector<AliasTarget>> parse_forward(std::string_view text, std::string_view file_name,
                                               const ForwardFileLimits& limits = {});

}  // namespace postern
