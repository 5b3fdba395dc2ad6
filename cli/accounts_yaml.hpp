// The accounts file as `postern user|alias|domain` writes it back (postern-accounts(5), "Files
// the CLI rewrites"). yaml-cpp keeps no comments in its tree, so the rule is: the leading
// comment block of the file (every line up to the first that is neither blank nor a comment) is
// kept byte for byte, followed by one marker comment saying the rest is written by postern; the
// data is re-emitted in one canonical shape: domains, users and aliases sorted, targets in the
// domain written as local parts, other addresses in full, password hashes double-quoted.
// Comments between the entries are not kept. Runs in the `postern` command; the data is already
// checked (accounts_edit.hpp), the kept comment block is the admin's and is copied unread.
#pragma once

#include <string>
#include <string_view>

#include "lib/auth/accounts.hpp"

namespace postern::cli {

inline constexpr std::string_view kRewrittenMarker =
    "# Below this block: written by `postern user|alias|domain`; comments here are not kept "
    "(postern-accounts(5)).";

// The leading comment block of an accounts file's text: every line from the first up to (not
// including) the first line that is neither blank nor starts with '#' (after blanks); each kept
// line ends with "\n". Empty when the file starts with data.
std::string leading_comment_block(std::string_view text);

// The whole new file: the comment block (with kRewrittenMarker appended once, when it is not
// already its last line), then the data.
std::string render_accounts_file(std::string_view comment_block, const AccountsData& data);

}  // namespace postern::cli
