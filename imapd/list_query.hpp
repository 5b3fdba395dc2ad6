// LIST and LSUB (RFC 3501 6.3.8/6.3.9) with LIST-EXTENDED basics (RFC 5258: selection options
// SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE; return options SUBSCRIBED, CHILDREN,
// SPECIAL-USE; several patterns), CHILDREN (RFC 3348) and SPECIAL-USE (RFC 6154) attributes.
// Runs in postern-imapd. parse_list_query reads the hostile arguments (bounded: at most
// kMaxListPatterns patterns, each matched without backtracking by ListPattern);
// list_replies turns the user's folders and subscriptions (from MailStore) into the untagged
// lines, each name once, in folder order. Pure functions: unit-tested without a mail store.
#pragma once

#include <string>
#include <vector>

#include "imapd/mail_store.hpp"
#include "lib/imap/imap_parser.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

inline constexpr size_t kMaxListPatterns = 64;
inline constexpr char kHierarchySeparator = '.';

struct ListQuery {
  bool lsub = false;
  bool extended = false;  // selection/return options or a pattern list (RFC 5258 syntax)
  bool select_subscribed = false;
  bool select_recursive = false;
  bool select_special_use = false;
  bool return_subscribed = false;
  bool return_children = false;
  bool return_special_use = false;
  std::string reference;
  std::vector<std::string> patterns;
};

// The arguments of LIST (lsub false) or LSUB. Error (kParse) with the text for "BAD ...".
Result<ListQuery> parse_list_query(const std::vector<ImapToken>& args, bool lsub);

// The untagged replies (without "* "), e.g. "LIST (\HasNoChildren \Sent) \".\" Sent".
// folders: MailStore::list_folders(); subscriptions: MailStore::subscriptions().
std::vector<std::string> list_replies(const ListQuery& query,
                                      const std::vector<FolderInfo>& folders,
                                      const std::vector<std::string>& subscriptions);

}  // namespace postern::imapd
