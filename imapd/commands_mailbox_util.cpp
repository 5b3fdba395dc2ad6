// Argument helpers of imapd's folder commands (see commands_mailbox_util.hpp).
#include "imapd/commands_mailbox_util.hpp"

#include "imapd/list_query.hpp"
#include "imapd/mail_store.hpp"

namespace postern::imapd {

Result<std::string> folder_name_argument(const ImapToken& token, bool drop_trailing_separator) {
  const auto text = token.astring();
  if (!text) return Error::parse("BAD Invalid mailbox name");
  std::string name = normalize_folder_name(*text);
  if (drop_trailing_separator && name.size() > 1 && name.back() == kHierarchySeparator) {
    name.pop_back();
  }
  Status checked = check_folder_name(name);
  if (!checked.ok()) return Error{checked.error().kind, no_reply(checked.error()), 0};
  return name;
}

std::optional<uint64_t> number_argument(std::string_view text, uint64_t max_value) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max_value - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

SelectedMailboxImpl* selected_impl(CommandContext& context) {
  return dynamic_cast<SelectedMailboxImpl*>(context.selected());
}

std::string no_reply(const Error& error) {
  if (!error.message.empty() && error.message.front() == '[') return "NO " + error.message;
  return "NO [SERVERBUG] " + error.message;
}

}  // namespace postern::imapd
