// One session's view of the folder it has SELECTed or EXAMINEd: the message sequence numbers
// this session has been told about (they change only when this session reports EXISTS and
// EXPUNGE/VANISHED), each message's record, and the changes other sessions, delivery or other
// Maildir tools made since, reported as untagged replies when the command may carry them. Built
// on the folder's Mailbox (imapd/mail_store.hpp), which is shared by every session of the
// process that has the folder open. Sequence numbers given to it come from the client and are
// checked against count() by the caller (lib/imap/imap_sequence_set resolves "*" and ranges).
//
// The public functions here are the contract the FETCH/STORE/SEARCH handlers code against;
// add to it, do not change what is here without telling them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imapd/mailbox_types.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

class CommandContext;
class Mailbox;

struct StoreOutcome {
  std::vector<uint32_t> changed;   // sequence numbers whose flags changed (send FETCH for them)
  std::vector<uint32_t> modified;  // UNCHANGEDSINCE failed: RFC 7162 "[MODIFIED set]"
};

class SelectedMailbox {
 public:
  virtual ~SelectedMailbox() = default;

  virtual const std::string& name() const = 0;  // as the client names it (modified UTF-7)
  virtual bool read_only() const = 0;           // EXAMINE, or a folder we may not write
  virtual uint32_t uidvalidity() const = 0;
  virtual uint32_t uidnext() const = 0;
  virtual uint64_t highest_modseq() const = 0;

  // Messages this session knows: sequence numbers 1..count().
  virtual uint32_t count() const = 0;
  virtual const MessageRecord& record(uint32_t seq) const = 0;  // 1 <= seq <= count()
  virtual bool recent(uint32_t seq) const = 0;                   // \Recent for this session
  // The sequence number of a UID, or nullopt when this session does not know it.
  virtual std::optional<uint32_t> seq_of_uid(uint32_t uid) const = 0;

  // The message as IMAP shows it: CRLF line ends (the Maildir file has LF), size record().size.
  virtual Result<std::string> message_bytes(uint32_t seq) = 0;
  // Text cached in the index for this message (a CacheKind: ENVELOPE, BODYSTRUCTURE, fields);
  // nullopt when nothing is cached yet. store_cached keeps it for every later session.
  virtual std::optional<std::string> cached(uint32_t seq, CacheKind kind) = 0;
  virtual void store_cached(uint32_t seq, CacheKind kind, const std::string& text) = 0;

  // STORE: changes flags of the given sequence numbers (ascending, unique), bumping MODSEQ.
  // Fails (kPermanent) when read_only().
  virtual Result<StoreOutcome> store_flags(const std::vector<uint32_t>& seqs,
                                           const FlagChange& change) = 0;
  // FETCH BODY[...] without .PEEK sets \Seen (no-op when read-only or already seen).
  virtual Status mark_seen(uint32_t seq) = 0;

  // Call before any response that shows flags (FETCH FLAGS): when flags hold a keyword this
  // session has not been told of in a FLAGS response yet (another session or this one made it
  // since SELECT), sends "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" first (RFC 3501
  // 7.2.6: a client learns the folder's flags from FLAGS; imaptest: "Keyword used without
  // being in FLAGS").
  virtual void announce_keywords(CommandContext& context, const MessageFlags& flags) = 0;

  // Sends what changed since this session last looked: "* n EXISTS", "* n RECENT",
  // "* n FETCH (FLAGS (...) [MODSEQ (m)] [UID u])", and, when allow_expunge, "* n EXPUNGE"
  // (or "* VANISHED uids" with QRESYNC enabled); first "* FLAGS" and "* OK [PERMANENTFLAGS]"
  // when new or changed messages hold a keyword this session was not told of. FETCH, STORE
  // and SEARCH pass false (RFC 3501 7.4.1); UID variants and every other command pass true.
  virtual void report_changes(CommandContext& context, bool allow_expunge) = 0;

  // Called (from the event loop) when the folder changes in a way this session has not reported
  // yet: IDLE wakes up with it. One callback; empty to stop.
  virtual void set_change_callback(std::function<void()> callback) = 0;
};

}  // namespace postern::imapd
