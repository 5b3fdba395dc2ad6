// The contract between imapd's session (imap_session: the connection, TLS, COMPRESS, the
// command reader, login, IDLE) and the command handlers (commands_*.cpp): what a handler may
// ask of the session it runs in. A handler runs on the event loop, reads its arguments from
// the parsed ImapCommand (hostile: every value is checked), writes untagged replies and returns
// the text of its tagged reply ("OK [READ-WRITE] SELECT completed", "NO [NONEXISTENT] ...",
// "BAD ..."); the session then reports pending mailbox changes and writes "<tag> <text>"
// (imapd/commands.hpp). Output goes into the session's buffer; the session stops
// reading the client while that buffer is over its bound, so a client that never reads cannot
// grow it without end.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/imap/imap_parser.hpp"

namespace postern::imapd {

class MailStore;        // imapd/mail_store.hpp: the user's folders
class SelectedMailbox;  // imapd/selected_mailbox.hpp: this session's view of one folder
struct ImapdSettings;   // imapd/imapd_settings.hpp

enum class SessionState { kNotAuthenticated, kAuthenticated, kSelected, kLogout };

class CommandContext {
 public:
  virtual ~CommandContext() = default;

  // "* " + line + CRLF. line may contain literals ("{5}\r\nhello") written by the handler.
  virtual void untagged(std::string_view line) = 0;
  // Bytes as they are (a big literal's body: no copy into a line first).
  virtual void raw(std::string_view bytes) = 0;

  virtual SessionState state() const = 0;
  // The logged-in user, "local@domain" lower-cased ("" before login).
  virtual const std::string& user() const = 0;
  virtual MailStore& store() = 0;            // valid once authenticated
  virtual SelectedMailbox* selected() = 0;   // null unless kSelected
  // Selects (state becomes kSelected) or, with null, unselects (kAuthenticated).
  virtual void set_selected(std::unique_ptr<SelectedMailbox> mailbox) = 0;

  // ENABLE'd or implied extensions: "CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2".
  virtual bool enabled(std::string_view extension) const = 0;
  // Turns one on (a FETCH with MODSEQ enables CONDSTORE, as RFC 7162 3.1 says).
  virtual void enable(std::string_view extension) = 0;

  virtual const ImapdSettings& settings() const = 0;
};

}  // namespace postern::imapd
