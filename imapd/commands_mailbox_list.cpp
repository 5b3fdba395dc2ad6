// LIST and LSUB for imapd (RFC 3501 6.3.8/6.3.9, RFC 5258 LIST-EXTENDED basics, RFC 6154
// SPECIAL-USE, RFC 3348 CHILDREN). Runs in postern-imapd. The arguments are hostile and read by
// parse_list_query (bounded pattern count, backtracking-free matching); the folders and
// subscriptions come from the user's MailStore.
#include "imapd/commands.hpp"
#include "imapd/commands_mailbox_util.hpp"
#include "imapd/list_query.hpp"
#include "imapd/mail_store.hpp"

namespace postern::imapd {

std::string handle_list(CommandContext& context, const ImapCommand& command) {
  const bool lsub = command.name == "LSUB";
  auto query = parse_list_query(command.args, lsub);
  if (!query.ok()) return "BAD " + query.error().message;
  auto folders = context.store().list_folders();
  if (!folders.ok()) return no_reply(folders.error());
  auto subscriptions = context.store().subscriptions();
  if (!subscriptions.ok()) return no_reply(subscriptions.error());
  for (const std::string& line : list_replies(*query, *folders, *subscriptions)) {
    context.untagged(line);
  }
  return lsub ? "OK Lsub completed." : "OK List completed.";
}

}  // namespace postern::imapd
