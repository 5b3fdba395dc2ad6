// /etc/aliases as aliases(5) has it (and as Postfix's postalias and Debian's exim4 read it): the
// text that master compiles into an LMDB table for the local delivery agent, at start and on
// SIGHUP. The admin's file: trusted, but checked, and every error names "file:line: reason".
// Bounded by kMaxAliasFileBytes, kMaxAliasNameBytes and the AliasTargetLimits of each entry.
//
// Format:
//   # a comment line (a '#' as the first non-blank character); blank lines are skipped
//   postmaster: root
//   root:       alice, bob@example.org
//   "with space": alice                   <- a name may be double-quoted ('\' escapes inside)
//   support:    alice,
//               "|/usr/bin/ticket -q support, -v",   <- a line that starts with white space
//               /var/log/support.mbox                   continues the entry before it (joined
//   staff:      :include:/etc/mail/staff                with one space)
// name = an unquoted run of bytes without blanks, ':', '"' or ',' (or one quoted string),
// then optional blanks and a ':' (required); names are lower-cased (ASCII). The rest of the
// entry is a target list (alias_target.hpp). One CR before each LF is dropped (CRLF files);
// the last line needs no LF.
//
// Errors (kParse unless noted; the line is where the entry starts): a NUL byte (the line that
// holds it), a continuation line before the first entry, no ':' after the name, an empty name,
// a blank or quote inside an unquoted name, an unterminated quote, a relative :include: path,
// an empty command or '\' user, an EMPTY TARGET LIST ("name:" with nothing after it, not even
// on continuation lines: an error, not Postfix's warning, so the admin hears of it at reload),
// a name longer than kMaxAliasNameBytes (kLimit), a target longer than or more targets than
// the limits (kLimit), a file larger than kMaxAliasFileBytes (kLimit). A name that occurs
// twice: the first entry wins and a warning names file:line of the one ignored.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/alias_target.hpp"
#include "lib/config/main_cf.hpp"

namespace postern {

inline constexpr size_t kMaxAliasFileBytes = size_t{64} << 20;  // 64 MiB of text
inline constexpr size_t kMaxAliasNameBytes = 255;               // after unquoting

struct AliasEntry {
  std::string name;                  // lower-cased, unquoted, never empty
  std::vector<AliasTarget> targets;  // never empty
  int line = 0;                      // where the entry starts, for messages about it later
  bool operator==(const AliasEntry&) const = default;
};

using AliasEntries = std::vector<AliasEntry>;

// Parses an aliases file (format above); file_name is used in messages. Entries come in file
// order, duplicates left out. Each warning (duplicate names) goes to *warnings when it is
// given, else to the log (log::warning).
Result<AliasEntries> parse_aliases(std::string_view text, std::string_view file_name,
                                   std::vector<ConfigWarning>* warnings = nullptr,
                                   const AliasTargetLimits& limits = {});

}  // namespace postern
