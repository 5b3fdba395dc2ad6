// Placeholder for the message commands until their implementation lands: each answers
// "NO [CANNOT] not implemented yet". The engineer who implements them replaces this file.
#include "imapd/commands.hpp"

namespace postern::imapd {

std::string handle_fetch(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_store(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }
std::string handle_search(CommandContext&, const ImapCommand&) { return "NO [CANNOT] not implemented yet"; }

}  // namespace postern::imapd
