// The IMAP commands that work on folders and messages, and the table the session dispatches
// them with. The session itself (imap_session) handles the commands that belong to the
// connection: CAPABILITY, NOOP, LOGOUT, STARTTLS, AUTHENTICATE, LOGIN, ID, ENABLE, NAMESPACE,
// COMPRESS, IDLE. A handler reads hostile arguments (checks every one), writes untagged
// replies through the context and returns its tagged reply's text ("OK ...", "NO ...",
// "BAD ..."). After it returns, the session calls SelectedMailbox::report_changes (with
// allow_expunge from the table, false for FETCH, STORE and SEARCH without UID: RFC 3501 7.4.1)
// and then writes the tagged reply.
#pragma once

#include <string>
#include <string_view>

#include "imapd/command_context.hpp"
#include "lib/imap/imap_parser.hpp"

namespace postern::imapd {

using CommandHandler = std::string (*)(CommandContext& context, const ImapCommand& command);

struct CommandSpec {
  std::string_view name;       // upper case
  bool needs_selected = false;  // else: needs the authenticated state (or selected)
  bool uid_form = false;        // "UID <name>" exists
  bool expunge_allowed = true;  // may report EXPUNGE after it (without UID)
  CommandHandler handler = nullptr;
};

// nullptr for a name that is not in the table (the session's own commands included).
const CommandSpec* find_command(std::string_view upper_name);

// commands_mailbox*.cpp: folders and the selected state.
std::string handle_select(CommandContext& context, const ImapCommand& command);   // and EXAMINE
std::string handle_create(CommandContext& context, const ImapCommand& command);
std::string handle_delete(CommandContext& context, const ImapCommand& command);
std::string handle_rename(CommandContext& context, const ImapCommand& command);
std::string handle_subscribe(CommandContext& context, const ImapCommand& command);  // and UN-
std::string handle_list(CommandContext& context, const ImapCommand& command);       // and LSUB
std::string handle_status(CommandContext& context, const ImapCommand& command);
std::string handle_append(CommandContext& context, const ImapCommand& command);
std::string handle_check(CommandContext& context, const ImapCommand& command);
std::string handle_close(CommandContext& context, const ImapCommand& command);     // and UNSELECT
std::string handle_expunge(CommandContext& context, const ImapCommand& command);   // and UID
std::string handle_copy(CommandContext& context, const ImapCommand& command);      // and MOVE

// commands_message*.cpp: the messages of the selected folder.
std::string handle_fetch(CommandContext& context, const ImapCommand& command);
std::string handle_store(CommandContext& context, const ImapCommand& command);
std::string handle_search(CommandContext& context, const ImapCommand& command);

}  // namespace postern::imapd
