// One comma-separated list of alias targets, as the right-hand side of an /etc/aliases entry, a
// line of a ~/.forward file or of a :include: file has it (aliases(5)), and the canonical one-line
// text of such a list that is stored as the value in the compiled LMDB table. Used by master
// (compiling /etc/aliases) and the local delivery agent (.forward, :include:, table values).
// Trusts nothing in the list: a .forward is written by any local user. Bounded by
// AliasTargetLimits (targets per list, bytes per target); never crashes, never loops.
//
// Syntax of a list:
//   target, target, ...        targets are separated by commas; blanks (space, tab) around a
//                              target are ignored; an empty target (",," or a trailing ',') is
//                              skipped
//   "text, with \"quotes\""    a double-quoted piece may hold commas and blanks; inside quotes a
//                              backslash takes the next byte literally. Quoted and unquoted
//                              pieces next to each other form one target: |"/bin/a, b" is
//                              "|/bin/a, b". Outside quotes a backslash is an ordinary byte.
// The kind of a target is decided after unquoting, by how its text starts:
//   |command          kCommand, text = command (without the '|'); may not be empty
//   /path             kFile, text = the absolute path (with its '/')
//   :include:/path    kInclude, text = the path; ":include:" is matched case-insensitively,
//                     blanks after it are skipped; the path must be absolute
//   \user             kOwnMailbox, text = user (without the '\'): deliver to that user's own
//                     mailbox with no further aliasing (the .forward idiom; accepted in
//                     /etc/aliases too, as sendmail does); may not be empty
//   anything else     kAddress, text = the address as written (user, user@domain), unquoted
//                     ("internal form"): the caller checks it and quotes it for SMTP.
// Refused: a NUL, CR or LF byte anywhere in the list (kParse), an unterminated quote (kParse),
// a target longer than max_target_bytes after unquoting, prefix included (kLimit), more than
// max_targets targets (kLimit). Messages name no target text (the list may be hostile); the
// file parsers put "file:line: " before them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxAliasTargets = 1000;      // targets in one /etc/aliases entry
inline constexpr size_t kMaxAliasTargetBytes = 4096;  // one target, unquoted, prefix included

enum class AliasTargetKind {
  kAddress,     // user or user@domain, as text
  kCommand,     // "|command": pipe the message to the command
  kFile,        // "/path": append the message to the file
  kInclude,     // ":include:/path": read more targets from the file
  kOwnMailbox,  // "\user": the user's own mailbox, no further aliasing
};

struct AliasTarget {
  AliasTargetKind kind = AliasTargetKind::kAddress;
  std::string text;  // the address, the command without '|', the path, or the user without '\'
  bool operator==(const AliasTarget&) const = default;
};

struct AliasTargetLimits {
  size_t max_targets = kMaxAliasTargets;  // in one list (or in all the lists appended to it)
  size_t max_target_bytes = kMaxAliasTargetBytes;
};

// "address", "command", "file", "include" or "own mailbox": for messages and logs.
std::string_view alias_target_kind_name(AliasTargetKind kind);

// Parses one list (syntax above) and appends its targets to *targets. max_targets counts the
// targets already in *targets too, so a file of several lists is bounded as a whole. On error
// *targets may hold part of the list.
Status append_alias_targets(std::string_view list, const AliasTargetLimits& limits,
                            std::vector<AliasTarget>* targets);

// The targets of one list (possibly none: an empty or all-blank list gives an empty vector).
Result<std::vector<AliasTarget>> parse_alias_targets(std::string_view list,
                                                     const AliasTargetLimits& limits = {});

// The canonical one-line text of targets, joined by ", ": each target written with its prefix
// ('|', ":include:", '\'), and double-quoted (with '"' and '\' escaped) when it holds a comma,
// a quote, a backslash (other than the '\' of kOwnMailbox) or a control byte, or starts with a
// '#' (so that the line is no comment line in a .forward) or starts or ends with a blank. For
// targets as parse_alias_targets returns them, parse_alias_targets( format_alias_targets(t)) == t
// (with the same limits). Holds no CR or LF for such targets.
std::string format_alias_targets(const std::vector<AliasTarget>& targets);

}  // namespace postern
