// Placeholder for the folder commands until their implementation lands: each answers
// "NO [CANNOT] not implemented yet". The engineer who implements them replaces this file.
#include "imapd/commands.hpp"

namespace postern::imapd {

std::string handle_select(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_create(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_delete(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_rename(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_subscribe(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_list(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_status(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_append(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_check(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_close(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_expunge(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_copy(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }

}  // namespace postern::imapd
