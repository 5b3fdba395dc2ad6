// The dispatch table of imapd's folder and message commands (see commands.hpp). Read-only data.
#include "imapd/commands.hpp"

#include <array>

namespace postern::imapd {
namespace {

constexpr std::array kCommands = {
    CommandSpec{"APPEND", false, false, true, handle_append},
    CommandSpec{"CHECK", true, false, true, handle_check},
    CommandSpec{"CLOSE", true, false, true, handle_close},
    CommandSpec{"COPY", true, true, true, handle_copy},
    CommandSpec{"CREATE", false, false, true, handle_create},
    CommandSpec{"DELETE", false, false, true, handle_delete},
    CommandSpec{"EXAMINE", false, false, true, handle_select},
    CommandSpec{"EXPUNGE", true, true, true, handle_expunge},
    CommandSpec{"FETCH", true, true, false, handle_fetch},
    CommandSpec{"LIST", false, false, true, handle_list},
    CommandSpec{"LSUB", false, false, true, handle_list},
    CommandSpec{"MOVE", true, true, true, handle_copy},
    CommandSpec{"RENAME", false, false, true, handle_rename},
    CommandSpec{"SEARCH", true, true, false, handle_search},
    CommandSpec{"SELECT", false, false, true, handle_select},
    CommandSpec{"STATUS", false, false, true, handle_status},
    CommandSpec{"STORE", true, true, false, handle_store},
    CommandSpec{"SUBSCRIBE", false, false, true, handle_subscribe},
    CommandSpec{"UNSELECT", true, false, true, handle_close},
    CommandSpec{"UNSUBSCRIBE", false, false, true, handle_subscribe},
};

}  // namespace

const CommandSpec* find_command(std::string_view upper_name) {
  for (const CommandSpec& spec : kCommands) {
    if (spec.name == upper_name) return &spec;
  }
  return nullptr;
}

}  // namespace postern::imapd
